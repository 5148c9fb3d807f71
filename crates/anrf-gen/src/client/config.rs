//! Where the model client's settings come from: flags, then the environment, then the
//! user's config file, then the built-in default (a local Ollama server).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::ApiKey;
use crate::GenError;

/// Environment variable: the OpenAI-compatible base URL (ending in `/v1`).
pub const ENV_ENDPOINT: &str = "ANRF_LLM_ENDPOINT";
/// Environment variable: the model name.
pub const ENV_MODEL: &str = "ANRF_LLM_MODEL";
/// Environment variable: the API key (sent as a bearer token, never logged).
pub const ENV_API_KEY: &str = "ANRF_LLM_API_KEY";

/// Default endpoint: Ollama's OpenAI-compatible API on this machine.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:11434/v1";
/// Default model: a small code model that Ollama serves under this name.
pub const DEFAULT_MODEL: &str = "qwen2.5-coder:7b";
/// Default request timeout: generation on a CPU is slow.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_mins(5);
/// Default number of retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 4;

/// Settings given on the command line; each one that is set wins over every other source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--endpoint`.
    pub endpoint: Option<String>,
    /// `--model`.
    pub model: Option<String>,
    /// `--llm-timeout`.
    pub timeout: Option<Duration>,
    /// `--llm-retries`.
    pub max_retries: Option<u32>,
}

/// The resolved client configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// OpenAI-compatible base URL; `/chat/completions` is appended.
    pub endpoint: String,
    /// Model name sent with every request.
    pub model: String,
    /// Bearer token, if the server needs one.
    pub api_key: Option<ApiKey>,
    /// Timeout of one request, from connecting to the last byte of the reply.
    pub timeout: Duration,
    /// Retries after the first attempt on HTTP 429, 5xx and connection failures.
    pub max_retries: u32,
    /// First backoff delay; doubled each retry, jittered, capped by `backoff_max`.
    pub backoff_base: Duration,
    /// Longest wait between attempts (also caps a server's `Retry-After`).
    pub backoff_max: Duration,
    /// Where each setting came from, for `--verbose` output and errors.
    pub sources: Sources,
    /// Things the person should fix, e.g. a config file holding the key that others
    /// can read; shown on stderr by the CLI.
    pub warnings: Vec<String>,
}

/// Where each resolved setting came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sources {
    /// Source of the endpoint.
    pub endpoint: String,
    /// Source of the model.
    pub model: String,
    /// Source of the key, if any.
    pub api_key: Option<String>,
}

impl ClientConfig {
    /// A configuration for `endpoint` with every other setting at its default.
    pub fn new(endpoint: impl Into<String>) -> ClientConfig {
        ClientConfig {
            endpoint: endpoint.into(),
            model: DEFAULT_MODEL.to_owned(),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            sources: Sources {
                endpoint: "code".to_owned(),
                model: "default".to_owned(),
                api_key: None,
            },
            warnings: Vec::new(),
        }
    }

    /// Resolves the configuration from the real environment and the user's config
    /// file (`$XDG_CONFIG_HOME/anrf/config.toml`, or the platform's config directory).
    pub fn resolve(flags: &Overrides) -> Result<ClientConfig, GenError> {
        let file = user_config_path();
        ClientConfig::resolve_from(flags, &|name| std::env::var(name).ok(), file.as_deref())
    }

    /// Resolves with precedence flags > environment > config file > defaults, reading
    /// the environment through `env` and the config file at `file` (a missing file is
    /// not an error; an unreadable or invalid one is).
    pub fn resolve_from(
        flags: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
        file: Option<&Path>,
    ) -> Result<ClientConfig, GenError> {
        let file_settings = match file {
            Some(path) => read_file(path)?,
            None => None,
        };
        let file_name = file
            .map(|p| format!("`{}`", p.display()))
            .unwrap_or_default();
        let llm = file_settings.unwrap_or_default();
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());

        let mut config = ClientConfig::new(DEFAULT_ENDPOINT);
        "default".clone_into(&mut config.sources.endpoint);
        let pick = |flag: Option<String>, var: &str, from_file: Option<String>| {
            if let Some(v) = flag {
                Some((v, "command line".to_owned()))
            } else if let Some(v) = env(var) {
                Some((v, format!("${var}")))
            } else {
                from_file.map(|v| (v, file_name.clone()))
            }
        };
        if let Some((v, src)) = pick(flags.endpoint.clone(), ENV_ENDPOINT, llm.endpoint) {
            config.endpoint = v;
            config.sources.endpoint = src;
        }
        if let Some((v, src)) = pick(flags.model.clone(), ENV_MODEL, llm.model) {
            config.model = v;
            config.sources.model = src;
        }
        let key_in_file = llm.api_key.is_some();
        if let Some((v, src)) = pick(None, ENV_API_KEY, llm.api_key) {
            config.api_key = Some(ApiKey::new(v));
            config.sources.api_key = Some(src);
        }
        if let Some(path) = file.filter(|_| key_in_file)
            && let Some(mode) = readable_by_others(path)
        {
            config.warnings.push(format!(
                "`{}` holds an API key and can be read by other users (mode {mode:o}); restrict it with `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
        if let Some(t) = flags.timeout {
            config.timeout = t;
        } else if let Some(secs) = llm.timeout_secs {
            config.timeout = Duration::from_secs(secs);
        }
        if let Some(r) = flags.max_retries.or(llm.max_retries) {
            config.max_retries = r;
        }
        validate_endpoint(&config.endpoint, &config.sources.endpoint)?;
        if config.model.trim().is_empty() {
            return Err(GenError::Config {
                source_name: config.sources.model.clone(),
                reason: "the model name is empty".to_owned(),
            });
        }
        if config.timeout.is_zero() {
            return Err(GenError::Config {
                source_name: "the timeout setting".to_owned(),
                reason: "the request timeout must be longer than zero".to_owned(),
            });
        }
        Ok(config)
    }
}

/// The user's config file path, whether or not it exists.
pub fn user_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("anrf").join("config.toml"));
    }
    directories::ProjectDirs::from("", "", "anrf").map(|d| d.config_dir().join("config.toml"))
}

/// The `[llm]` table of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LlmSettings {
    endpoint: Option<String>,
    model: Option<String>,
    api_key: Option<String>,
    timeout_secs: Option<u64>,
    max_retries: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    llm: Option<LlmSettings>,
}

/// The most bytes read from a configuration file.
const MAX_CONFIG_BYTES: u64 = 64 << 10;

fn read_file(path: &Path) -> Result<Option<LlmSettings>, GenError> {
    let text = match anrf_format::fsread::read_regular_text(path, MAX_CONFIG_BYTES) {
        Ok(text) => text,
        Err(anrf_format::fsread::ReadError::NotFound { .. }) => return Ok(None),
        Err(e) => {
            return Err(GenError::ConfigRead {
                path: path.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            });
        }
    };
    let file: ConfigFile = toml::from_str(&text).map_err(|e| GenError::Config {
        source_name: format!("`{}`", path.display()),
        // toml's message quotes the offending line, which could be the key: keep
        // only its first line (the position and what was wrong).
        reason: e.message().to_owned(),
    })?;
    Ok(file.llm)
}

/// The file's permission bits when its group or others may read it (Unix only).
#[cfg(unix)]
fn readable_by_others(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o044 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path) -> Option<u32> {
    None
}

fn validate_endpoint(endpoint: &str, source: &str) -> Result<(), GenError> {
    let ok = (endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        && endpoint.len() > "https://".len();
    if ok {
        Ok(())
    } else {
        Err(GenError::Config {
            source_name: source.to_owned(),
            reason: format!(
                "the endpoint `{}` is not an http:// or https:// URL (e.g. `{DEFAULT_ENDPOINT}`)",
                super::redact_url(endpoint)
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn defaults_point_at_a_local_server() {
        let config = ClientConfig::resolve_from(&Overrides::default(), &|_| None, None).unwrap();
        assert_eq!(config.endpoint, DEFAULT_ENDPOINT);
        assert_eq!(config.model, DEFAULT_MODEL);
        assert!(config.api_key.is_none());
        assert_eq!(config.sources.endpoint, "default");
    }

    #[test]
    fn flags_beat_env_beat_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[llm]\nendpoint = \"http://file:1/v1\"\nmodel = \"file-model\"\napi_key = \"file-key\"\ntimeout_secs = 7\n",
        )
        .unwrap();
        let env = env_of(&[(ENV_ENDPOINT, "http://env:2/v1"), (ENV_API_KEY, "env-key")]);
        let from_file =
            ClientConfig::resolve_from(&Overrides::default(), &|_| None, Some(&path)).unwrap();
        assert_eq!(from_file.endpoint, "http://file:1/v1");
        assert_eq!(from_file.model, "file-model");
        assert_eq!(from_file.timeout, Duration::from_secs(7));
        assert_eq!(from_file.api_key.unwrap().expose_secret(), "file-key");

        let from_env =
            ClientConfig::resolve_from(&Overrides::default(), &env, Some(&path)).unwrap();
        assert_eq!(from_env.endpoint, "http://env:2/v1");
        assert_eq!(from_env.sources.endpoint, "$ANRF_LLM_ENDPOINT");
        assert_eq!(from_env.model, "file-model");
        assert_eq!(from_env.api_key.unwrap().expose_secret(), "env-key");

        let flags = Overrides {
            endpoint: Some("http://flag:3/v1".to_owned()),
            model: Some("flag-model".to_owned()),
            timeout: Some(Duration::from_secs(9)),
            max_retries: Some(1),
        };
        let from_flags = ClientConfig::resolve_from(&flags, &env, Some(&path)).unwrap();
        assert_eq!(from_flags.endpoint, "http://flag:3/v1");
        assert_eq!(from_flags.model, "flag-model");
        assert_eq!(from_flags.timeout, Duration::from_secs(9));
        assert_eq!(from_flags.max_retries, 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_warned_about() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[llm]\napi_key = \"sk-perm\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let open =
            ClientConfig::resolve_from(&Overrides::default(), &|_| None, Some(&path)).unwrap();
        assert_eq!(open.warnings.len(), 1, "{:?}", open.warnings);
        assert!(open.warnings[0].contains("chmod 600"));
        assert!(!open.warnings[0].contains("sk-perm"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let closed =
            ClientConfig::resolve_from(&Overrides::default(), &|_| None, Some(&path)).unwrap();
        assert!(closed.warnings.is_empty(), "{:?}", closed.warnings);
    }

    #[test]
    fn a_missing_file_is_fine_an_invalid_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        assert!(
            ClientConfig::resolve_from(&Overrides::default(), &|_| None, Some(&missing)).is_ok()
        );
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[llm]\nendpont = \"http://x/v1\"\n").unwrap();
        let err =
            ClientConfig::resolve_from(&Overrides::default(), &|_| None, Some(&bad)).unwrap_err();
        assert!(err.to_string().contains("endpont"), "{err}");
    }

    #[test]
    fn a_key_in_an_invalid_file_is_not_echoed() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[llm]\napi_key = sk-very-secret\n").unwrap();
        let err =
            ClientConfig::resolve_from(&Overrides::default(), &|_| None, Some(&bad)).unwrap_err();
        assert!(!err.to_string().contains("sk-very-secret"), "{err}");
    }

    #[test]
    fn non_http_endpoints_are_refused() {
        let env = env_of(&[(ENV_ENDPOINT, "localhost:11434")]);
        let err = ClientConfig::resolve_from(&Overrides::default(), &env, None).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("$ANRF_LLM_ENDPOINT"), "{message}");
        assert!(message.contains("`localhost:11434`"), "{message}");
    }
}
