//! `anrf key`: approver signing keys. `gen` writes `NAME.key` (PKCS#8 PEM, mode
//! 0600) and `NAME.pub` (`ed25519:<base64>`) and prints the lines to paste into
//! `anrf-policy.toml`; `public` prints the public key of a private key file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anrf_audit::{Decision, EventKind, NewEvent, Requirement};
use anrf_policy::{OsRng, SecretKey};
use clap::{Args, Subcommand};
use miette::{IntoDiagnostic as _, WrapErr as _};

use crate::exit::Finish;
use crate::out;

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  anrf key gen bob --out keys/\n  anrf key public keys/bob.key")]
pub(crate) struct KeyArgs {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Generate an ed25519 approver key pair
    #[command(after_help = "Example:\n  anrf key gen bob --out keys/\n\n\
Writes keys/bob.key (private, mode 0600: keep it secret) and keys/bob.pub, and prints\n\
the `[[approvers]]` entry to paste into anrf-policy.toml.")]
    Gen(GenArgs),
    /// Print the public key of a private key file
    #[command(after_help = "Example:\n  anrf key public keys/bob.key")]
    Public(PublicArgs),
}

#[derive(Debug, Args)]
struct GenArgs {
    /// The approver's name, as it will appear in anrf-policy.toml.
    name: String,
    /// Directory for the key files [default: `$ANRF_HOME/keys`].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Role(s) to put in the printed `[[approvers]]` entry.
    #[arg(long = "role", default_value = "security")]
    roles: Vec<String>,
}

#[derive(Debug, Args)]
struct PublicArgs {
    /// A private key file written by `anrf key gen`.
    key: PathBuf,
}

pub(crate) fn exec(args: KeyArgs) -> miette::Result<Finish> {
    match args.command {
        KeyCommand::Gen(a) => generate(&a),
        KeyCommand::Public(a) => {
            let key = read_secret_key(&a.key)?;
            out::outln!("{}", key.public_key())?;
            Ok(Finish::Code(0))
        }
    }
}

fn generate(args: &GenArgs) -> miette::Result<Finish> {
    if args.name.is_empty()
        || args.name.len() > 64
        || !args
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        miette::bail!(
            "key name `{}` must be 1-64 characters of `a-z`, `A-Z`, `0-9`, `.`, `_`, `-`, `@`",
            args.name
        );
    }
    let home = crate::home::anrf_home()?;
    let dir = args.out.clone().unwrap_or_else(|| home.join("keys"));
    std::fs::create_dir_all(&dir)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create `{}`", dir.display()))?;
    let key_path = dir.join(format!("{}.key", args.name));
    let pub_path = dir.join(format!("{}.pub", args.name));
    for p in [&key_path, &pub_path] {
        if p.exists() {
            miette::bail!(
                help =
                    "choose another name or --out directory; an existing key is never overwritten",
                "`{}` already exists",
                p.display()
            );
        }
    }
    let key = SecretKey::generate(&mut OsRng);
    let pem = key.to_pem().map_err(|e| miette::miette!("{e}"))?;
    write_private(&key_path, pem.as_bytes())?;
    let public = key.public_key().to_string();
    std::fs::write(&pub_path, format!("{public}\n"))
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write `{}`", pub_path.display()))?;

    let event = NewEvent::new(
        EventKind::KeyGen,
        anrf_audit::local_actor(),
        public.clone(),
        Decision::Info,
    )
    .with_details(serde_json::json!({ "name": args.name, "public_key": public }));
    if let Ok(anrf_audit::Recorded::Skipped(e)) | Err(e) =
        anrf_audit::record(&home.join("audit"), &event, Requirement::BestEffort)
    {
        eprintln!("warning: key generated but not recorded in the audit log: {e}");
    }

    let roles = args
        .roles
        .iter()
        .map(|r| format!("\"{r}\""))
        .collect::<Vec<_>>()
        .join(", ");
    out::outln!(
        "private key: {} (mode 0600, keep it secret)",
        key_path.display()
    )?;
    out::outln!("public key:  {}", pub_path.display())?;
    out::outln!("{public}")?;
    out::outln!()?;
    out::outln!("Add the approver to anrf-policy.toml:")?;
    out::outln!()?;
    out::outln!("[[approvers]]")?;
    out::outln!("name = \"{}\"", args.name)?;
    out::outln!("public_key = \"{public}\"")?;
    out::outln!("roles = [{roles}]")?;
    Ok(Finish::Code(0))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> miette::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create `{}`", path.display()))?;
    file.write_all(bytes)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write `{}`", path.display()))
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> miette::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create `{}`", path.display()))?;
    file.write_all(bytes)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write `{}`", path.display()))
}

/// Reads a private key file, refusing one that others can read (like ssh).
/// The key file `arg` names: the path as given when it exists; else, for a
/// bare name (`bob`), the key `anrf key gen bob` wrote under `$ANRF_HOME/keys`.
pub(crate) fn key_path(arg: &Path) -> miette::Result<std::path::PathBuf> {
    let bare = arg.components().count() == 1 && arg.extension().is_none();
    if arg.exists() || !bare {
        return Ok(arg.to_path_buf());
    }
    let default = crate::home::anrf_home()?
        .join("keys")
        .join(arg)
        .with_extension("key");
    if default.is_file() {
        return Ok(default);
    }
    miette::bail!(
        help = format!(
            "pass the key file with `--key FILE`, or create the key: anrf key gen {}",
            arg.display()
        ),
        "no key file `{}`, and no key `{}` where `anrf key gen` writes them",
        arg.display(),
        default.display()
    )
}

pub(crate) fn read_secret_key(path: &Path) -> miette::Result<SecretKey> {
    let text = crate::input::read_private_text(path, crate::input::MAX_KEY_BYTES, "the key file")?;
    SecretKey::from_pem(&text).map_err(|e| miette::miette!("`{}`: {e}", path.display()))
}
