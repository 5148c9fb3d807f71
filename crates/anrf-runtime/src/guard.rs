//! The capability guard: a thin layer over wasmtime-wasi's preview 1 functions
//! that sees every attempt to step outside the grants and records it.
//!
//! wasmtime-wasi enforces the grants (a path cannot leave its preopen, a
//! read-only directory refuses writes). This layer adds what it cannot say: that
//! an attempt happened. It shadows the preview 1 functions that can touch a
//! capability, delegates to wasmtime-wasi's own implementation through its
//! generated ABI functions, and looks at the arguments and the `errno`:
//!
//! - path operations refused with `PERM`, `NOTCAPABLE` or `ACCES` (a path leading
//!   outside its directory: absolute, `..`, a symlink; a write in a read-only
//!   directory) are `capability_denied`;
//! - an operation on a descriptor the guest never held (`BADF`: scanning for
//!   preopens, guessing descriptors) is `capability_denied`, except the single
//!   probe wasi-libc makes at startup to find the end of the preopens;
//! - `path_symlink` is always refused: a link's meaning depends on where it
//!   lies, which the guest can change after any check of its text;
//! - without the clock, file timestamps are the clock's: every `filestat` the
//!   guest receives has its times set to 0, and setting times is refused;
//! - sockets and `proc_raise` are always refused; `random_get` and the clocks
//!   (including clock subscriptions in `poll_oneoff`) are refused unless granted;
//! - paths that match no granted directory reach the host through a *tripwire*
//!   preopen at `/` (an empty directory on which every operation is refused), so
//!   `open("/etc/passwd")` in a wasi-libc guest is seen, not silently failed.
//!
//! The guest always gets the WASI error (`NOTCAPABLE` for what this layer
//! refuses itself) and keeps running. Not observable: reads of environment
//! variables that were not granted (the guest only ever receives the granted
//! ones and looks names up in its own copy).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use wasmtime::{AsContextMut, Caller, Extern, Linker};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p1::wasi_snapshot_preview1 as abi;
use wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1 as _;
use wiggle::GuestMemory;

use crate::outcome::{Violation, ViolationKind};
use crate::policy::Access;
use crate::sandbox::HostState;

const P1: &str = "wasi_snapshot_preview1";

/// WASI preview 1 `errno` values this layer reads or returns.
mod errno {
    pub(super) const SUCCESS: i32 = 0;
    pub(super) const ACCES: i32 = 2;
    pub(super) const BADF: i32 = 8;
    pub(super) const INVAL: i32 = 28;
    pub(super) const PERM: i32 = 63;
    pub(super) const NOTCAPABLE: i32 = 76;
}

/// At most this many violations are kept; further ones are counted.
const MAX_RECORDED: usize = 32;

/// The trap that stops a guest whose wall-clock time ran out inside a host call.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("wall-clock timeout reached during a host call")]
pub(crate) struct TimeoutHit;

/// Violations recorded during one run, shared with the thread that waits for it.
#[derive(Debug, Default)]
pub(crate) struct ViolationLog {
    list: Vec<Violation>,
    suppressed: u64,
}

impl ViolationLog {
    pub(crate) fn push(&mut self, violation: Violation) {
        if self.list.len() < MAX_RECORDED {
            self.list.push(violation);
        } else {
            self.suppressed += 1;
        }
    }

    /// The recorded violations, with one summary line for the ones not kept.
    pub(crate) fn take(&mut self) -> Vec<Violation> {
        let mut list = std::mem::take(&mut self.list);
        if self.suppressed > 0 {
            list.push(Violation::new(
                ViolationKind::CapabilityDenied,
                format!(
                    "refused {} more attempts like the ones above (not recorded individually)",
                    self.suppressed
                ),
            ));
            self.suppressed = 0;
        }
        list
    }
}

pub(crate) type SharedLog = Arc<Mutex<ViolationLog>>;

/// A granted directory as the guest sees it.
#[derive(Debug, Clone)]
pub(crate) struct GuestDir {
    pub(crate) fd: u32,
    pub(crate) guest_path: String,
    pub(crate) access: Access,
}

/// Per-run state of the guard.
#[derive(Debug)]
pub(crate) struct Guard {
    clock: bool,
    random: bool,
    deadline: Instant,
    dirs: Vec<GuestDir>,
    tripwire_fd: Option<u32>,
    held: HashSet<u32>,
    probe_fd: u32,
    probe_seen: bool,
    log: SharedLog,
}

impl Guard {
    /// `dirs` are the granted preopens (descriptors 3..), `tripwire_fd` the
    /// tripwire preopen after them, if any.
    pub(crate) fn new(
        clock: bool,
        random: bool,
        deadline: Instant,
        dirs: Vec<GuestDir>,
        tripwire_fd: Option<u32>,
        log: SharedLog,
    ) -> Guard {
        let mut held: HashSet<u32> = [0, 1, 2].into_iter().collect();
        held.extend(dirs.iter().map(|d| d.fd));
        held.extend(tripwire_fd);
        let probe_fd = 3 + u32::try_from(held.len() - 3).unwrap_or(0);
        Guard {
            clock,
            random,
            deadline,
            dirs,
            tripwire_fd,
            held,
            probe_fd,
            probe_seen: false,
            log,
        }
    }

    fn deny(&self, message: String) {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Violation::new(ViolationKind::CapabilityDenied, message));
    }

    fn dir(&self, fd: u32) -> Option<&GuestDir> {
        self.dirs.iter().find(|d| d.fd == fd)
    }
}

/// What one guarded call touches.
struct Op {
    name: &'static str,
    /// Descriptors used by the call, with the path relative to each (if any).
    targets: Vec<(u32, Option<String>)>,
    writes: bool,
    /// Where `path_open` writes the new descriptor.
    opened_at: Option<u32>,
}

impl Op {
    fn fd(name: &'static str, fd: i32) -> Op {
        Op {
            name,
            targets: vec![(fd.cast_unsigned(), None)],
            writes: false,
            opened_at: None,
        }
    }

    fn path(
        name: &'static str,
        caller: &mut Caller<'_, HostState>,
        fd: i32,
        ptr: i32,
        len: i32,
    ) -> Op {
        let path = read_guest_str(caller, ptr, len);
        Op {
            name,
            targets: vec![(fd.cast_unsigned(), Some(path))],
            writes: false,
            opened_at: None,
        }
    }

    fn and_path(mut self, caller: &mut Caller<'_, HostState>, fd: i32, ptr: i32, len: i32) -> Op {
        let path = read_guest_str(caller, ptr, len);
        self.targets.push((fd.cast_unsigned(), Some(path)));
        self
    }

    fn writing(mut self, writes: bool) -> Op {
        self.writes = writes;
        self
    }
}

/// Adds wasmtime-wasi's preview 1 functions to `linker`, then shadows the ones
/// that touch a capability with guarded versions.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p1::add_to_linker_sync(linker, |state: &mut HostState| &mut state.wasi)?;
    linker.allow_shadowing(true);
    add_fd_functions(linker)?;
    add_path_functions(linker)?;
    add_refused_functions(linker)?;
    add_clock_and_random(linker)?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Calls wasmtime-wasi's implementation of a preview 1 function.
macro_rules! delegate {
    (sync, $caller:expr, $name:ident ( $($a:ident),* )) => {
        with_wasi($caller, |ctx, mem| abi::$name(ctx, mem, $($a),*))
    };
    (async, $caller:expr, $name:ident ( $($a:ident),* )) => {
        with_wasi($caller, |ctx, mem| {
            wasmtime_wasi::runtime::in_tokio(abi::$name(ctx, mem, $($a),*))
        })
    };
}

/// A guarded function whose first argument is a descriptor.
macro_rules! fd_function {
    ($linker:ident, $mode:ident, $name:ident ( $fd:ident $(, $a:ident : $t:ty)* )) => {
        $linker.func_wrap(
            P1,
            stringify!($name),
            |mut caller: Caller<'_, HostState>, $fd: i32 $(, $a: $t)*| -> wasmtime::Result<i32> {
                let op = Op::fd(stringify!($name), $fd);
                guarded(&mut caller, &op, |c| delegate!($mode, c, $name($fd $(, $a)*)))
            },
        )?;
    };
}

fn add_fd_functions(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    fd_function!(linker, async, fd_advise(fd, offset: i64, len: i64, advice: i32));
    fd_function!(linker, sync, fd_allocate(fd, offset: i64, len: i64));
    fd_function!(linker, async, fd_close(fd));
    fd_function!(linker, async, fd_datasync(fd));
    fd_function!(linker, async, fd_fdstat_get(fd, ret: i32));
    fd_function!(linker, sync, fd_fdstat_set_flags(fd, flags: i32));
    fd_function!(linker, sync, fd_fdstat_set_rights(fd, base: i64, inheriting: i64));
    fd_function!(linker, async, fd_filestat_set_size(fd, size: i64));
    fd_function!(linker, async, fd_pread(fd, iovs: i32, iovs_len: i32, offset: i64, ret: i32));
    fd_function!(linker, sync, fd_prestat_get(fd, ret: i32));
    fd_function!(linker, sync, fd_prestat_dir_name(fd, path: i32, path_len: i32));
    fd_function!(linker, async, fd_pwrite(fd, iovs: i32, iovs_len: i32, offset: i64, ret: i32));
    fd_function!(linker, async, fd_read(fd, iovs: i32, iovs_len: i32, ret: i32));
    fd_function!(linker, async, fd_readdir(fd, buf: i32, buf_len: i32, cookie: i64, ret: i32));
    fd_function!(linker, async, fd_seek(fd, offset: i64, whence: i32, ret: i32));
    fd_function!(linker, async, fd_sync(fd));
    fd_function!(linker, sync, fd_tell(fd, ret: i32));
    fd_function!(linker, async, fd_write(fd, iovs: i32, iovs_len: i32, ret: i32));
    linker.func_wrap(
        P1,
        "fd_filestat_get",
        |mut caller: Caller<'_, HostState>, fd: i32, ret: i32| -> wasmtime::Result<i32> {
            let op = Op::fd("fd_filestat_get", fd);
            let errno = guarded(&mut caller, &op, |c| {
                delegate!(async, c, fd_filestat_get(fd, ret))
            })?;
            mask_timestamps(&mut caller, errno, ret);
            Ok(errno)
        },
    )?;
    linker.func_wrap(
        P1,
        "fd_filestat_set_times",
        |mut caller: Caller<'_, HostState>,
         fd: i32,
         atim: i64,
         mtim: i64,
         flags: i32|
         -> wasmtime::Result<i32> {
            if !caller.data().guard.clock {
                return Ok(refuse(&caller, timestamp_refusal("fd_filestat_set_times")));
            }
            let op = Op::fd("fd_filestat_set_times", fd);
            guarded(&mut caller, &op, |c| {
                delegate!(async, c, fd_filestat_set_times(fd, atim, mtim, flags))
            })
        },
    )?;
    linker.func_wrap(
        P1,
        "fd_renumber",
        |mut caller: Caller<'_, HostState>, fd: i32, to: i32| -> wasmtime::Result<i32> {
            let mut op = Op::fd("fd_renumber", fd);
            op.targets.push((to.cast_unsigned(), None));
            let errno = guarded(&mut caller, &op, |c| {
                delegate!(async, c, fd_renumber(fd, to))
            })?;
            if errno == errno::SUCCESS {
                caller.data_mut().guard.held.insert(to.cast_unsigned());
            }
            Ok(errno)
        },
    )?;
    Ok(())
}

fn add_path_functions(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "path_open",
        |mut c: Caller<'_, HostState>,
         fd: i32,
         dirflags: i32,
         path: i32,
         path_len: i32,
         oflags: i32,
         base: i64,
         inheriting: i64,
         fdflags: i32,
         ret: i32|
         -> wasmtime::Result<i32> {
            // rights FD_WRITE = 1 << 6; oflags CREAT = 1, TRUNC = 8
            let writes = base & (1 << 6) != 0 || oflags & (1 | 8) != 0;
            let mut op = Op::path("path_open", &mut c, fd, path, path_len).writing(writes);
            op.opened_at = Some(ret.cast_unsigned());
            guarded(&mut c, &op, |c| {
                delegate!(
                    async,
                    c,
                    path_open(
                        fd, dirflags, path, path_len, oflags, base, inheriting, fdflags, ret
                    )
                )
            })
        },
    )?;
    linker.func_wrap(
        P1,
        "path_create_directory",
        |mut c: Caller<'_, HostState>, fd: i32, path: i32, len: i32| -> wasmtime::Result<i32> {
            let op = Op::path("path_create_directory", &mut c, fd, path, len).writing(true);
            guarded(&mut c, &op, |c| {
                delegate!(async, c, path_create_directory(fd, path, len))
            })
        },
    )?;
    linker.func_wrap(
        P1,
        "path_filestat_get",
        |mut c: Caller<'_, HostState>,
         fd: i32,
         flags: i32,
         path: i32,
         len: i32,
         ret: i32|
         -> wasmtime::Result<i32> {
            let op = Op::path("path_filestat_get", &mut c, fd, path, len);
            let errno = guarded(&mut c, &op, |c| {
                delegate!(async, c, path_filestat_get(fd, flags, path, len, ret))
            })?;
            mask_timestamps(&mut c, errno, ret);
            Ok(errno)
        },
    )?;
    linker.func_wrap(
        P1,
        "path_filestat_set_times",
        |mut c: Caller<'_, HostState>,
         fd: i32,
         flags: i32,
         path: i32,
         len: i32,
         atim: i64,
         mtim: i64,
         fst: i32|
         -> wasmtime::Result<i32> {
            if !c.data().guard.clock {
                return Ok(refuse(&c, timestamp_refusal("path_filestat_set_times")));
            }
            let op = Op::path("path_filestat_set_times", &mut c, fd, path, len).writing(true);
            guarded(&mut c, &op, |c| {
                delegate!(
                    async,
                    c,
                    path_filestat_set_times(fd, flags, path, len, atim, mtim, fst)
                )
            })
        },
    )?;
    linker.func_wrap(
        P1,
        "path_link",
        |mut c: Caller<'_, HostState>,
         old_fd: i32,
         old_flags: i32,
         old_path: i32,
         old_len: i32,
         new_fd: i32,
         new_path: i32,
         new_len: i32|
         -> wasmtime::Result<i32> {
            let op = Op::path("path_link", &mut c, old_fd, old_path, old_len)
                .and_path(&mut c, new_fd, new_path, new_len)
                .writing(true);
            guarded(&mut c, &op, |c| {
                delegate!(
                    async,
                    c,
                    path_link(
                        old_fd, old_flags, old_path, old_len, new_fd, new_path, new_len
                    )
                )
            })
        },
    )?;
    linker.func_wrap(
        P1,
        "path_readlink",
        |mut c: Caller<'_, HostState>,
         fd: i32,
         path: i32,
         len: i32,
         buf: i32,
         buf_len: i32,
         ret: i32|
         -> wasmtime::Result<i32> {
            let op = Op::path("path_readlink", &mut c, fd, path, len);
            guarded(&mut c, &op, |c| {
                delegate!(async, c, path_readlink(fd, path, len, buf, buf_len, ret))
            })
        },
    )?;
    linker.func_wrap(
        P1,
        "path_remove_directory",
        |mut c: Caller<'_, HostState>, fd: i32, path: i32, len: i32| -> wasmtime::Result<i32> {
            let op = Op::path("path_remove_directory", &mut c, fd, path, len).writing(true);
            guarded(&mut c, &op, |c| {
                delegate!(async, c, path_remove_directory(fd, path, len))
            })
        },
    )?;
    linker.func_wrap(
        P1,
        "path_rename",
        |mut c: Caller<'_, HostState>,
         fd: i32,
         old_path: i32,
         old_len: i32,
         new_fd: i32,
         new_path: i32,
         new_len: i32|
         -> wasmtime::Result<i32> {
            let op = Op::path("path_rename", &mut c, fd, old_path, old_len)
                .and_path(&mut c, new_fd, new_path, new_len)
                .writing(true);
            guarded(&mut c, &op, |c| {
                delegate!(
                    async,
                    c,
                    path_rename(fd, old_path, old_len, new_fd, new_path, new_len)
                )
            })
        },
    )?;
    linker.func_wrap(
        P1,
        "path_symlink",
        |mut c: Caller<'_, HostState>,
         old_path: i32,
         old_len: i32,
         fd: i32,
         new_path: i32,
         new_len: i32|
         -> wasmtime::Result<i32> {
            // Refused whatever the target: where a link points depends on
            // where it lies, which the guest can change after any check of
            // its text (rename it up a level, make it through `s -> .`).
            let target = read_guest_str(&mut c, old_path, old_len);
            let link = read_guest_str(&mut c, new_path, new_len);
            let guard = &c.data().guard;
            let place = guard.dir(fd.cast_unsigned()).map_or_else(
                || format!("on descriptor {fd}"),
                |d| format!("in `{}`", d.guest_path),
            );
            Ok(refuse(
                &c,
                format!(
                    "refused `path_symlink` of `{link}` -> `{target}` {place}: a guest may not create symbolic links (where a link points depends on where it lies, which the guest could change afterwards by renaming it or making it through another link, and a link left pointing outside a granted directory is a trap for whatever follows it later); write or copy the file itself"
                ),
            ))
        },
    )?;
    linker.func_wrap(
        P1,
        "path_unlink_file",
        |mut c: Caller<'_, HostState>, fd: i32, path: i32, len: i32| -> wasmtime::Result<i32> {
            let op = Op::path("path_unlink_file", &mut c, fd, path, len).writing(true);
            guarded(&mut c, &op, |c| {
                delegate!(async, c, path_unlink_file(fd, path, len))
            })
        },
    )?;
    Ok(())
}

const NO_NETWORK: &str =
    "the sandbox grants no network access (no socket is ever handed to a guest)";

fn add_refused_functions(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "sock_accept",
        |c: Caller<'_, HostState>, fd: i32, _flags: i32, _ret: i32| -> i32 {
            refuse(
                &c,
                format!("refused `sock_accept` on descriptor {fd}: {NO_NETWORK}"),
            )
        },
    )?;
    linker.func_wrap(
        P1,
        "sock_recv",
        |c: Caller<'_, HostState>, fd: i32, _: i32, _: i32, _: i32, _: i32, _: i32| -> i32 {
            refuse(
                &c,
                format!("refused `sock_recv` on descriptor {fd}: {NO_NETWORK}"),
            )
        },
    )?;
    linker.func_wrap(
        P1,
        "sock_send",
        |c: Caller<'_, HostState>, fd: i32, _: i32, _: i32, _: i32, _: i32| -> i32 {
            refuse(
                &c,
                format!("refused `sock_send` on descriptor {fd}: {NO_NETWORK}"),
            )
        },
    )?;
    linker.func_wrap(
        P1,
        "sock_shutdown",
        |c: Caller<'_, HostState>, fd: i32, _how: i32| -> i32 {
            refuse(
                &c,
                format!("refused `sock_shutdown` on descriptor {fd}: {NO_NETWORK}"),
            )
        },
    )?;
    linker.func_wrap(
        P1,
        "proc_raise",
        |c: Caller<'_, HostState>, signal: i32| -> i32 {
            refuse(
                &c,
                format!(
                    "refused `proc_raise({signal})`: a guest may not raise signals; it ends by returning or calling `proc_exit` with a code"
                ),
            )
        },
    )?;
    Ok(())
}

fn add_clock_and_random(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "random_get",
        |mut c: Caller<'_, HostState>, buf: i32, len: i32| -> wasmtime::Result<i32> {
            if !c.data().guard.random {
                return Ok(refuse(
                    &c,
                    format!(
                        "refused `random_get` of {len} bytes: randomness is not granted; add `random = true` to `[security.capabilities]`"
                    ),
                ));
            }
            delegate!(sync, &mut c, random_get(buf, len))
        },
    )?;
    linker.func_wrap(
        P1,
        "clock_time_get",
        |mut c: Caller<'_, HostState>,
         id: i32,
         precision: i64,
         ret: i32|
         -> wasmtime::Result<i32> {
            if !c.data().guard.clock {
                return Ok(refuse(&c, clock_refusal("clock_time_get")));
            }
            delegate!(sync, &mut c, clock_time_get(id, precision, ret))
        },
    )?;
    linker.func_wrap(
        P1,
        "clock_res_get",
        |mut c: Caller<'_, HostState>, id: i32, ret: i32| -> wasmtime::Result<i32> {
            if !c.data().guard.clock {
                return Ok(refuse(&c, clock_refusal("clock_res_get")));
            }
            delegate!(sync, &mut c, clock_res_get(id, ret))
        },
    )?;
    linker.func_wrap(
        P1,
        "poll_oneoff",
        |mut c: Caller<'_, HostState>,
         subs: i32,
         events: i32,
         nsubs: i32,
         ret: i32|
         -> wasmtime::Result<i32> {
            match examine_subscriptions(&mut c, subs, nsubs) {
                Subscriptions::TooMany => {
                    c.data().guard.deny(format!(
                        "refused `poll_oneoff` with {} subscriptions: the sandbox examines at most {MAX_SUBSCRIPTIONS} per call, and never passes on one it has not examined",
                        nsubs.cast_unsigned()
                    ));
                    return Ok(errno::INVAL);
                }
                Subscriptions::Examined { clock: true, .. } if !c.data().guard.clock => {
                    return Ok(refuse(&c, clock_refusal("poll_oneoff")));
                }
                Subscriptions::Examined { never_held, .. } => {
                    // wasmtime-wasi fails the call with `BADF`, as any other
                    // call on that descriptor; it is reported like one.
                    if let Some(fd) = never_held {
                        c.data().guard.deny(format!(
                            "refused `poll_oneoff` on descriptor {fd}: the guest was never given it; a guest can use only stdin, stdout, stderr and the granted directories"
                        ));
                    }
                }
                // Unreadable subscriptions: wasmtime-wasi returns `FAULT`.
                Subscriptions::Unreadable => {}
            }
            // Every wait, relative or absolute, on a clock or on a descriptor,
            // ends at the deadline: no host thread stays asleep past it. A
            // subscription that is ready returns at once, whatever the clocks.
            let deadline = c.data().guard.deadline;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let polled = with_wasi(&mut c, |ctx, mem| {
                // The timer is made inside the runtime it needs.
                Ok(wasmtime_wasi::runtime::in_tokio(async {
                    tokio::time::timeout(
                        remaining,
                        abi::poll_oneoff(ctx, mem, subs, events, nsubs, ret),
                    )
                    .await
                }))
            })?;
            let Ok(errno) = polled else {
                return Err(TimeoutHit.into());
            };
            let errno = errno?;
            check_deadline(&c)?;
            Ok(errno)
        },
    )?;
    Ok(())
}

fn clock_refusal(name: &str) -> String {
    format!(
        "refused `{name}`: the clock is not granted; add `clock = true` to `[security.capabilities]`"
    )
}

fn timestamp_refusal(name: &str) -> String {
    format!(
        "refused `{name}`: file timestamps are part of the clock, which is not granted; add `clock = true` to `[security.capabilities]`"
    )
}

/// Without the clock, a `filestat` the guest receives carries no time: its
/// access, modification and status-change times (the last 24 bytes of the
/// 64-byte preview 1 `filestat`) are overwritten with 0 for every file, so a
/// file the guest creates does not tell it the wall clock.
fn mask_timestamps(caller: &mut Caller<'_, HostState>, errno: i32, ret: i32) {
    const TIMES: std::ops::Range<usize> = 40..64;
    if errno != errno::SUCCESS || caller.data().guard.clock {
        return;
    }
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return;
    };
    let Ok(base) = usize::try_from(ret.cast_unsigned()) else {
        return;
    };
    let data = memory.data_mut(caller);
    if let (Some(start), Some(end)) = (base.checked_add(TIMES.start), base.checked_add(TIMES.end))
        && let Some(times) = data.get_mut(start..end)
    {
        times.fill(0);
    }
}

/// Records a refusal and returns `NOTCAPABLE` to the guest.
fn refuse(caller: &Caller<'_, HostState>, message: String) -> i32 {
    caller.data().guard.deny(message);
    errno::NOTCAPABLE
}

/// Runs one guarded call: refuse up front what must never reach wasmtime-wasi,
/// delegate, then classify the `errno`.
fn guarded(
    caller: &mut Caller<'_, HostState>,
    op: &Op,
    call: impl FnOnce(&mut Caller<'_, HostState>) -> wasmtime::Result<i32>,
) -> wasmtime::Result<i32> {
    let guard = &caller.data().guard;
    if let Some(tripwire) = guard.tripwire_fd {
        for (fd, path) in &op.targets {
            if *fd != tripwire {
                continue;
            }
            match path {
                Some(path) => {
                    let shown = if path.starts_with('/') {
                        path.clone()
                    } else {
                        format!("/{path}")
                    };
                    guard.deny(format!(
                        "refused `{}` of `{shown}`: the path is outside every granted directory; grant a directory with a `[security.capabilities] dirs` entry (or `--allow-read DIR --justification \"...\"` in the dev profile)",
                        op.name
                    ));
                    return Ok(errno::NOTCAPABLE);
                }
                None if !matches!(
                    op.name,
                    "fd_prestat_get" | "fd_prestat_dir_name" | "fd_fdstat_get"
                ) =>
                {
                    guard.deny(format!(
                        "refused `{}` on the root of the guest's filesystem: nothing is granted there",
                        op.name
                    ));
                    return Ok(errno::NOTCAPABLE);
                }
                None => {}
            }
        }
    }
    let errno = call(caller)?;
    classify(caller, op, errno);
    check_deadline(caller)?;
    Ok(errno)
}

fn classify(caller: &mut Caller<'_, HostState>, op: &Op, errno: i32) {
    if errno == errno::SUCCESS {
        if let Some(at) = op.opened_at
            && let Some(fd) = read_guest_u32(caller, at)
        {
            caller.data_mut().guard.held.insert(fd);
        }
        return;
    }
    let guard = &mut caller.data_mut().guard;
    if errno == errno::BADF {
        for (fd, path) in &op.targets {
            if guard.held.contains(fd) {
                continue;
            }
            if op.name == "fd_prestat_get" && *fd == guard.probe_fd && !guard.probe_seen {
                // wasi-libc's startup scan ends at the first free descriptor.
                guard.probe_seen = true;
                return;
            }
            let what = path
                .as_ref()
                .map(|p| format!(" (path `{p}`)"))
                .unwrap_or_default();
            guard.deny(format!(
                "refused `{}` on descriptor {fd}{what}: the guest was never given it; a guest can use only stdin, stdout, stderr and the granted directories",
                op.name
            ));
            return;
        }
        return;
    }
    if !matches!(errno, errno::PERM | errno::NOTCAPABLE | errno::ACCES) {
        return;
    }
    let Some((fd, Some(path))) = op.targets.first() else {
        return;
    };
    let dir = guard.dir(*fd).cloned();
    let message = match dir {
        Some(dir) if dir.access == Access::ReadOnly && op.writes && !escapes(path) => format!(
            "refused `{}` of `{path}` in `{}`: the directory is granted read-only; grant `access = \"read-write\"` in its `[security.capabilities] dirs` entry (or `--allow-write DIR --justification \"...\"` in the dev profile)",
            op.name, dir.guest_path
        ),
        Some(dir) => format!(
            "refused `{}` of `{path}` in `{}`: the path leads outside the granted directory (absolute path, `..` or a link); only what is inside a granted directory is reachable",
            op.name, dir.guest_path
        ),
        None => format!(
            "refused `{}` of `{path}` on descriptor {fd}: not permitted by the grants",
            op.name
        ),
    };
    guard.deny(message);
}

fn escapes(path: &str) -> bool {
    path.starts_with('/') || path.split('/').any(|part| part == "..")
}

fn check_deadline(caller: &Caller<'_, HostState>) -> wasmtime::Result<()> {
    if Instant::now() >= caller.data().guard.deadline {
        return Err(TimeoutHit.into());
    }
    Ok(())
}

/// Runs `f` on wasmtime-wasi's preview 1 context with the caller's memory, the
/// way wasmtime-wasi's own linker glue does.
fn with_wasi<R>(
    caller: &mut Caller<'_, HostState>,
    f: impl FnOnce(&mut WasiP1Ctx, &mut GuestMemory<'_>) -> wasmtime::Result<R>,
) -> wasmtime::Result<R> {
    let fuel = caller.as_context_mut().hostcall_fuel();
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        wasmtime::bail!("missing required memory export");
    };
    let (data, state) = memory.data_and_store_mut(caller);
    state.wasi.set_hostcall_fuel(fuel);
    let mut memory = GuestMemory::Unshared(data);
    f(&mut state.wasi, &mut memory)
}

fn guest_bytes(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> Option<Vec<u8>> {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return None;
    };
    let start = usize::try_from(ptr.cast_unsigned()).ok()?;
    let len = usize::try_from(len.cast_unsigned()).ok()?;
    let end = start.checked_add(len)?;
    memory.data(&caller).get(start..end).map(<[u8]>::to_vec)
}

/// A path argument, shown lossily and cut at 256 bytes.
fn read_guest_str(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> String {
    let len = len.clamp(0, 256);
    guest_bytes(caller, ptr, len)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn read_guest_u32(caller: &mut Caller<'_, HostState>, ptr: u32) -> Option<u32> {
    let bytes = guest_bytes(caller, ptr.cast_signed(), 4)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// The most subscriptions one `poll_oneoff` call may have: all are examined.
const MAX_SUBSCRIPTIONS: u32 = 4096;

/// What the guard found in a `poll_oneoff` call's subscriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subscriptions {
    /// All examined; `clock` if any waits on a clock, `never_held` the first
    /// descriptor waited on that the guest was never given.
    Examined {
        clock: bool,
        never_held: Option<u32>,
    },
    /// More than [`MAX_SUBSCRIPTIONS`] (or a negative count): refused unexamined.
    TooMany,
    /// Outside the guest's memory.
    Unreadable,
}

fn examine_subscriptions(
    caller: &mut Caller<'_, HostState>,
    subs: i32,
    nsubs: i32,
) -> Subscriptions {
    const SUBSCRIPTION_SIZE: u32 = 48;
    let count = nsubs.cast_unsigned();
    if count > MAX_SUBSCRIPTIONS {
        return Subscriptions::TooMany;
    }
    // At most 4096 * 48 bytes: fits an i32.
    let len = (count * SUBSCRIPTION_SIZE).cast_signed();
    let Some(bytes) = guest_bytes(caller, subs, len) else {
        return Subscriptions::Unreadable;
    };
    // The tag (0: clock, 1: fd_read, 2: fd_write) is the byte at offset 8;
    // a descriptor subscription names its descriptor at offset 16.
    let held = &caller.data().guard.held;
    let never_held = bytes
        .chunks_exact(SUBSCRIPTION_SIZE as usize)
        .filter(|sub| matches!(sub[8], 1 | 2))
        .map(|sub| u32::from_le_bytes([sub[16], sub[17], sub[18], sub[19]]))
        .find(|fd| !held.contains(fd));
    Subscriptions::Examined {
        clock: bytes
            .chunks_exact(SUBSCRIPTION_SIZE as usize)
            .any(|sub| sub[8] == 0),
        never_held,
    }
}

/// Every function of `wasi_snapshot_preview1`: what a module may import. The
/// verifier checks imports against this same list.
pub const P1_FUNCTIONS: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "sched_yield",
    "random_get",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];

/// Whether the host provides `wasi_snapshot_preview1::name`.
pub(crate) fn provides(name: &str) -> bool {
    P1_FUNCTIONS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_a_bounded_number_of_violations() {
        let mut log = ViolationLog::default();
        for i in 0..100 {
            log.push(Violation::new(
                ViolationKind::CapabilityDenied,
                format!("refused {i}"),
            ));
        }
        let list = log.take();
        assert_eq!(list.len(), MAX_RECORDED + 1);
        assert!(list.last().unwrap().message.contains("68 more"));
        assert!(log.take().is_empty());
    }

    #[test]
    fn escaping_paths_are_recognized() {
        assert!(escapes("/etc/passwd"));
        assert!(escapes("a/../../b"));
        assert!(!escapes("a/b.txt"));
        assert!(!escapes("..a/b"));
    }

    #[test]
    fn only_preview1_functions_are_provided() {
        assert!(provides("fd_write"));
        assert!(provides("sock_accept"));
        assert!(!provides("thread-spawn"));
        assert!(!provides("system"));
        assert_eq!(P1_FUNCTIONS.len(), 46);
    }
}
