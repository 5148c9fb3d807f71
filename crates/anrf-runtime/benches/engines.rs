//! Runtime benchmark: CPU-bound guests natively and on every engine, with fuel
//! metering and with the epoch deadline only; cold start of hello world per
//! engine, from a warm AOT cache, through the `anrf` CLI and the `wasmtime`
//! CLI when installed. Writes its section of `docs/perf.md`.
//!
//! Run it with `bench/run.sh`, which builds the guests and sets:
//! `BENCH_NATIVE_DIR`, `BENCH_WASM_DIR` (required), `BENCH_ANRF_BIN`,
//! `BENCH_REPS` (default 5), `BENCH_OUT` (the markdown file to update),
//! `BENCH_WASMTIME` (the `wasmtime` CLI, default: from `PATH`).
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss,
    reason = "a benchmark harness fails loudly and prints ratios"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anrf_runtime::{
    EngineKind, Invocation, Limits, LoadedModule, Metering, ModuleInput, RunPolicy, Runtime,
    RuntimeConfig, Status,
};

/// The CPU-bound programs and the argument that sizes them (~0.3-0.5 s native).
const PROGRAMS: &[(&str, &str)] = &[
    ("fib", "40"),
    ("sieve", "60"),
    ("matmul", "1000"),
    ("sha256", "50"),
];

const ENGINES: [EngineKind; 3] = [EngineKind::Aot, EngineKind::Jit, EngineKind::Interp];
const METERINGS: [Metering; 2] = [Metering::Epoch, Metering::Fuel];

/// Starts per command when processes take turns.
const PROCESS_N: usize = 30;

const START_MARK: &str = "<!-- runtime-bench:start -->";
const END_MARK: &str = "<!-- runtime-bench:end -->";

fn main() {
    let native_dir = PathBuf::from(std::env::var("BENCH_NATIVE_DIR").expect("BENCH_NATIVE_DIR"));
    let wasm_dir = PathBuf::from(std::env::var("BENCH_WASM_DIR").expect("BENCH_WASM_DIR"));
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let anrf_bin = std::env::var("BENCH_ANRF_BIN")
        .ok()
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let scratch = tempfile_dir();

    let wasmtime = wasmtime_cli();
    let load_before = loadavg();
    let mut md = String::new();
    cpu_bound(
        &mut md,
        &native_dir,
        &wasm_dir,
        &scratch,
        reps,
        wasmtime.as_ref(),
    );
    cold_start(
        &mut md,
        &native_dir,
        &wasm_dir,
        &scratch,
        anrf_bin.as_deref(),
        wasmtime.as_ref(),
    );

    let _ = writeln!(
        md,
        "\nLoad average (1 min) before and after: {load_before} / {}.",
        loadavg()
    );
    println!("{md}");
    if let Ok(out) = std::env::var("BENCH_OUT") {
        write_section(Path::new(&out), &md);
        eprintln!("wrote the runtime section of {out}");
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("anrf-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Limits far above the defaults: the benchmark measures speed, not refusals.
fn bench_policy(metering: Metering) -> RunPolicy {
    let limits = Limits {
        memory_bytes: 1 << 30,
        fuel: u64::MAX / 2,
        timeout: Duration::from_mins(10),
        ..Limits::DEFAULT
    };
    RunPolicy::new(limits, metering)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time_process(cmd: &mut Command) -> (Duration, Vec<u8>) {
    let start = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("spawn");
    let elapsed = start.elapsed();
    assert!(out.status.success(), "{cmd:?} failed");
    (elapsed, out.stdout)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn runtime(kind: EngineKind, cache: &Path) -> Runtime {
    Runtime::new(
        kind,
        RuntimeConfig {
            cache_dir: Some(cache.to_path_buf()),
            metering: None,
            cache_max_bytes: None,
        },
    )
    .expect("runtime")
}

fn load(runtime: &Runtime, path: &Path) -> LoadedModule {
    runtime
        .load(ModuleInput::Wasm(std::fs::read(path).expect("read wasm")))
        .expect("load")
}

/// The `wasmtime` CLI (`BENCH_WASMTIME`, else from `PATH`) and its version, if it runs.
fn wasmtime_cli() -> Option<(String, String)> {
    let bin = std::env::var("BENCH_WASMTIME").unwrap_or_else(|_| "wasmtime".into());
    let out = Command::new(&bin).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| (bin, String::from_utf8_lossy(&out.stdout).trim().to_owned()))
}

fn cpu_bound(
    md: &mut String,
    native_dir: &Path,
    wasm_dir: &Path,
    scratch: &Path,
    reps: usize,
    wasmtime: Option<&(String, String)>,
) {
    let cache = scratch.join("aot-cache");
    let mut rows = Vec::new();
    let mut aot_epoch_ratios = Vec::new();
    let mut fuel_overheads = Vec::new();
    for (name, arg) in PROGRAMS {
        let native_samples: Vec<(Duration, Vec<u8>)> = (0..reps)
            .map(|_| time_process(Command::new(native_dir.join(name)).arg(arg)))
            .collect();
        let expected = native_samples[0].1.clone();
        let native = median(native_samples.into_iter().map(|s| s.0).collect());
        eprintln!("{name}: native {} ms", ms(native));
        let mut cells = vec![name.to_string(), ms(native)];
        // The same guest under the `wasmtime` CLI, precompiled, with neither
        // epoch interruption nor fuel: Cranelift's code with no sandbox limit
        // enforced, as process wall time like native.
        // And with `-W timeout`, which turns on epoch interruption: the
        // same mechanism the sandbox's deadline uses.
        let with_epoch: (&str, &[&str], &[&str]) = (
            " -W timeout",
            &["-W", "epoch-interruption=y"],
            &["-W", "timeout=600s"],
        );
        for (label, compile_flags, flags) in [("", &[][..], &[][..]), with_epoch] {
            let Some((bin, _)) = wasmtime else {
                cells.push("not installed".into());
                continue;
            };
            let cwasm = scratch.join(format!("{name}{}.cwasm", flags.len()));
            let status = Command::new(bin)
                .arg("compile")
                .args(compile_flags)
                .arg("-o")
                .arg(&cwasm)
                .arg(wasm_dir.join(format!("{name}.wasm")))
                .status()
                .expect("wasmtime compile");
            assert!(status.success(), "wasmtime compile {name}");
            let samples: Vec<(Duration, Vec<u8>)> = (0..reps)
                .map(|_| {
                    time_process(
                        Command::new(bin)
                            .args(["run", "--allow-precompiled"])
                            .args(flags)
                            .arg(&cwasm)
                            .arg(arg),
                    )
                })
                .collect();
            assert_eq!(samples[0].1, expected, "{name} under wasmtime: same output");
            let t = median(samples.into_iter().map(|s| s.0).collect());
            eprintln!("{name}: wasmtime CLI{label} {} ms", ms(t));
            cells.push(format!("{} ({:.2}x)", ms(t), ratio(t, native)));
        }
        for kind in ENGINES {
            let rt = runtime(kind, &cache);
            let module = load(&rt, &wasm_dir.join(format!("{name}.wasm")));
            let mut per_metering = Vec::new();
            for metering in METERINGS {
                let policy = bench_policy(metering);
                rt.prepare(&module, &policy).expect("compile");
                // The interpreter is slow: one sample is enough to see its ratio.
                let n = if kind == EngineKind::Interp { 1 } else { reps };
                let samples: Vec<Duration> = (0..n)
                    .map(|_| {
                        let invocation = Invocation {
                            args: vec![(*arg).to_string()],
                            program: (*name).to_string(),
                            ..Invocation::default()
                        };
                        let outcome = rt.run(&module, &policy, invocation).expect("run");
                        assert_eq!(outcome.status, Status::Ok, "{name} {kind}: {outcome:?}");
                        assert_eq!(outcome.stdout, expected, "{name} {kind}: same output");
                        outcome.duration
                    })
                    .collect();
                let t = median(samples);
                eprintln!("{name}: {kind} {metering:?} {} ms", ms(t));
                per_metering.push(t);
                cells.push(format!("{} ({:.2}x)", ms(t), ratio(t, native)));
            }
            if kind == EngineKind::Aot {
                aot_epoch_ratios.push(ratio(per_metering[0], native));
            }
            if kind != EngineKind::Interp {
                fuel_overheads.push((*name, kind, ratio(per_metering[1], per_metering[0]) - 1.0));
            }
        }
        rows.push(cells);
    }

    let _ = writeln!(md, "### CPU-bound guests: time and ratio to native\n");
    let _ = writeln!(
        md,
        "Median of {reps} runs (the interpreter: 1 run), milliseconds, ratio to native in parentheses. \
`epoch` is the cheapest configuration the sandbox allows (epoch deadline only, no instruction counting); \
`fuel` adds deterministic instruction metering. Wasm times are `Outcome::duration` (instantiation + execution, \
compilation excluded: AOT loads from its cache); native and `wasmtime` CLI times are process wall time. \
The `wasmtime` CLI columns run the same guest precompiled: without flags, with no epoch interruption \
and no fuel (the code Cranelift makes with no limit enforced); with `-W timeout`, with epoch interruption, \
the mechanism behind the sandbox's deadline.\n"
    );
    let _ = writeln!(
        md,
        "| program | native | `wasmtime` CLI | `wasmtime` CLI `-W timeout` | aot epoch | aot fuel | jit epoch | jit fuel | interp epoch | interp fuel |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
    for cells in &rows {
        let _ = writeln!(md, "| {} |", cells.join(" | "));
    }
    let worst_aot = aot_epoch_ratios.iter().copied().fold(0.0f64, f64::max);
    let geo_aot = geomean(&aot_epoch_ratios);
    let worst_fuel = fuel_overheads
        .iter()
        .map(|(_, _, o)| *o)
        .fold(f64::MIN, f64::max);
    let mean_fuel =
        fuel_overheads.iter().map(|(_, _, o)| *o).sum::<f64>() / fuel_overheads.len().max(1) as f64;
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "- Target \"AOT with epoch deadline within 1.2x of native\": geometric mean {geo_aot:.2}x, worst {worst_aot:.2}x: **{}**.",
        if worst_aot <= 1.2 {
            "met"
        } else if geo_aot <= 1.2 {
            "met on average, not on every program"
        } else {
            "not met"
        }
    );
    let fuel_list: Vec<String> = fuel_overheads
        .iter()
        .map(|(p, k, o)| format!("{p}/{k} {:+.0}%", o * 100.0))
        .collect();
    let _ = writeln!(
        md,
        "- Target \"metering adds at most 5%\" (fuel vs epoch, same engine and program): {}; mean {:+.0}%, worst {:+.0}%: **{}**.",
        fuel_list.join(", "),
        mean_fuel * 100.0,
        worst_fuel * 100.0,
        if worst_fuel <= 0.05 { "met" } else { "not met" }
    );
}

fn geomean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    (values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp()
}

fn cold_start(
    md: &mut String,
    native_dir: &Path,
    wasm_dir: &Path,
    scratch: &Path,
    anrf_bin: Option<&Path>,
    wasmtime: Option<&(String, String)>,
) {
    const N: usize = 10;
    let hello = wasm_dir.join("hello.wasm");
    let bytes = std::fs::read(&hello).expect("hello.wasm");
    let policy = bench_policy(Metering::Epoch);
    let mut rows: Vec<(String, Duration)> = Vec::new();

    let native = median(
        (0..N)
            .map(|_| time_process(&mut Command::new(native_dir.join("hello"))).0)
            .collect(),
    );
    rows.push(("native hello (process)".into(), native));

    let warm_cache = scratch.join("cold-start-cache");
    runtime(EngineKind::Aot, &warm_cache)
        .prepare(
            &load(&runtime(EngineKind::Aot, &warm_cache), &hello),
            &policy,
        )
        .expect("warm the cache");
    for (label, kind, fresh_cache) in [
        (
            "in-process: interp (compile + run)",
            EngineKind::Interp,
            false,
        ),
        ("in-process: jit (compile + run)", EngineKind::Jit, false),
        (
            "in-process: aot, cold cache (compile + store + run)",
            EngineKind::Aot,
            true,
        ),
        (
            "in-process: aot, warm cache (check + load + run)",
            EngineKind::Aot,
            false,
        ),
    ] {
        let samples = (0..N)
            .map(|i| {
                let cache = if fresh_cache {
                    scratch.join(format!("fresh-{i}"))
                } else {
                    warm_cache.clone()
                };
                let start = Instant::now();
                let rt = runtime(kind, &cache);
                let module = rt.load(ModuleInput::Wasm(bytes.clone())).expect("load");
                let outcome = rt
                    .run(&module, &policy, Invocation::default())
                    .expect("run");
                let elapsed = start.elapsed();
                assert_eq!(outcome.status, Status::Ok);
                elapsed
            })
            .collect();
        rows.push((label.into(), median(samples)));
    }

    // Process starts: every command is warmed once (filling its cache), then
    // the commands take turns, so that load from elsewhere on the machine
    // falls on all of them alike.
    let mut commands: Vec<(String, Command)> = Vec::new();
    if let Some(bin) = anrf_bin {
        let home = scratch.join("anrf-home");
        for (label, args) in [
            ("`anrf run` (process): interp", &["--engine", "interp"][..]),
            ("`anrf run` (process): jit", &["--engine", "jit"][..]),
            (
                "`anrf run` (process): aot, warm cache",
                &["--engine", "aot"][..],
            ),
            (
                "`anrf run` (process): aot, warm cache, `--profile prod`",
                &["--engine", "aot", "--profile", "prod"][..],
            ),
        ] {
            let mut cmd = Command::new(bin);
            cmd.env("ANRF_HOME", &home)
                .arg("run")
                .args(args)
                .arg(&hello);
            commands.push((label.to_owned(), cmd));
        }
    }
    if let Some((wasmtime_bin, _)) = wasmtime {
        let mut cmd = Command::new(wasmtime_bin);
        cmd.arg("run").arg(&hello);
        commands.push(("`wasmtime run` (process)".to_owned(), cmd));
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); commands.len()];
    for (_, cmd) in &mut commands {
        time_process(cmd);
    }
    for _ in 0..PROCESS_N {
        for (i, (_, cmd)) in commands.iter_mut().enumerate() {
            samples[i].push(time_process(cmd).0);
        }
    }
    let mut anrf_aot = Vec::new();
    let mut wasmtime_time = None;
    for ((label, _), samples) in commands.iter().zip(samples) {
        let t = median(samples);
        if label.contains("aot, warm cache") {
            anrf_aot.push((label.clone(), t));
        } else if label.starts_with("`wasmtime") {
            wasmtime_time = Some(t);
        }
        rows.push((label.clone(), t));
    }

    let _ = writeln!(md, "\n### Cold start: hello world\n");
    let _ = writeln!(
        md,
        "Median of {N} starts in process, {PROCESS_N} per command for processes (taking turns), milliseconds. \
In-process rows create a fresh `Runtime` (engine, linker, epoch ticker), load, compile or fetch, and run; \
process rows include process creation, and for `anrf run` the policy resolution and two synced audit-log \
appends (the decision before the run, the outcome after it).\n"
    );
    let _ = writeln!(md, "| start | ms |");
    let _ = writeln!(md, "|---|---|");
    for (label, t) in &rows {
        let _ = writeln!(md, "| {label} | {} |", ms(*t));
    }
    let _ = writeln!(md);
    match (wasmtime.map(|(_, version)| version), wasmtime_time) {
        (Some(version), Some(w)) if !anrf_aot.is_empty() => {
            let faster = anrf_aot.iter().filter(|(_, a)| *a < w).count();
            let list: Vec<String> = anrf_aot
                .iter()
                .map(|(label, a)| {
                    format!(
                        "{} {} ms ({:.2}x)",
                        label.trim_start_matches("`anrf run` (process): "),
                        ms(*a),
                        ratio(*a, w)
                    )
                })
                .collect();
            let _ = writeln!(
                md,
                "- Target \"repeated starts from the AOT cache faster than the `wasmtime` CLI's\" ({version}, `wasmtime run` {} ms): {}: **{}**.",
                ms(w),
                list.join(", "),
                if faster == anrf_aot.len() {
                    "met"
                } else if faster > 0 {
                    "met in one profile, not in the other"
                } else {
                    "not met"
                }
            );
        }
        (None, _) => {
            let _ = writeln!(
                md,
                "- The `wasmtime` CLI is not installed on this machine, so the comparison with it was not measured (install it with `cargo install wasmtime-cli --version 48.0.8 --locked` and re-run)."
            );
        }
        _ => {
            let _ = writeln!(
                md,
                "- The `anrf` release binary was not given (`BENCH_ANRF_BIN`), so the CLI comparison was not measured."
            );
        }
    }
}

/// Replaces the text between the runtime markers of `path` (or appends it).
fn write_section(path: &Path, body: &str) {
    let machine = machine();
    let section = format!(
        "{START_MARK}\n## Runtime\n\nMeasured with `bench/run.sh` on {machine}.\n\n{body}{END_MARK}\n"
    );
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| "# Performance\n\n".into());
    let new = match (old.find(START_MARK), old.find(END_MARK)) {
        (Some(start), Some(end)) if end > start => {
            format!(
                "{}{section}{}",
                &old[..start],
                &old[end + END_MARK.len()..].trim_start_matches('\n')
            )
        }
        _ => format!("{}\n{section}", old.trim_end()),
    };
    std::fs::write(path, new).expect("write the results");
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!(
        "{cpu}, {cores} cores, {} {}, {rustc}, wasmtime 48.0.8",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}
