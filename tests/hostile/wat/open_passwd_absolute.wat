;; Opens `/etc/passwd` by absolute path on the first preopen, and exits with
;; the errno it got (0 would mean it was opened).
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "/etc/passwd")
  (func (export "_start")
    (call $exit
      (call $path_open (i32.const 3) (i32.const 1) (i32.const 0) (i32.const 11)
        (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 100)))))
