;; Prints `hello.txt` from the first granted directory (descriptor 3); exits with
;; the errno of the open when it fails.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hello.txt")
  (data (i32.const 16) "\00\04\00\00\00\04\00\00")  ;; iovec {buf = 1024, len = 1024}
  (func (export "_start")
    (local $errno i32)
    (local.set $errno
      (call $path_open (i32.const 3) (i32.const 1) (i32.const 0) (i32.const 9)
        (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 100)))
    (if (local.get $errno) (then (call $exit (local.get $errno))))
    (drop (call $fd_read (i32.load (i32.const 100)) (i32.const 16) (i32.const 1) (i32.const 32)))
    (i32.store (i32.const 20) (i32.load (i32.const 32)))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 40)))
    (call $exit (i32.const 0))))
