;; Creates `new.txt` in the first granted directory (fd 3) and reads its
;; timestamps with `fd_filestat_get` and `path_filestat_get`, then sets them to
;; "now". Exit code: +1 if `fd_filestat_get` showed a time other than 0, +2 if
;; `path_filestat_get` did, +4 if setting the times succeeded; 10 if the create
;; failed, 11 if a `filestat` call failed.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_get"
    (func $fd_filestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get"
    (func $path_filestat_get (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_set_times"
    (func $set_times (param i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "new.txt")   ;; 7 bytes
  ;; Whether the 64-byte filestat at $at has a time (bytes 40..64) other than 0.
  (func $has_time (param $at i32) (result i32)
    (i32.or
      (i64.ne (i64.load (i32.add (local.get $at) (i32.const 40))) (i64.const 0))
      (i32.or
        (i64.ne (i64.load (i32.add (local.get $at) (i32.const 48))) (i64.const 0))
        (i64.ne (i64.load (i32.add (local.get $at) (i32.const 56))) (i64.const 0)))))
  (func (export "_start")
    (local $fd i32)
    (local $code i32)
    ;; oflags CREAT; rights: read, write, filestat get/set times
    (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 7)
          (i32.const 1) (i64.const 0x1FFFFFFF) (i64.const 0x1FFFFFFF) (i32.const 0) (i32.const 100))
      (then (call $exit (i32.const 10))))
    (local.set $fd (i32.load (i32.const 100)))
    (if (call $fd_filestat_get (local.get $fd) (i32.const 128))
      (then (call $exit (i32.const 11))))
    (if (call $path_filestat_get (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 7) (i32.const 256))
      (then (call $exit (i32.const 11))))
    (if (call $has_time (i32.const 128)) (then (local.set $code (i32.const 1))))
    (if (call $has_time (i32.const 256))
      (then (local.set $code (i32.add (local.get $code) (i32.const 2)))))
    ;; fstflags ATIM_NOW | MTIM_NOW
    (if (i32.eqz (call $set_times (local.get $fd) (i64.const 0) (i64.const 0) (i32.const 10)))
      (then (local.set $code (i32.add (local.get $code) (i32.const 4)))))
    (call $exit (local.get $code))))
