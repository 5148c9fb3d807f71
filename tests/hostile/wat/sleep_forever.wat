;; Sleeps for a day with `poll_oneoff` (a blocking host call).
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  ;; subscription: userdata 0, tag 0 (clock), clock id 1 (monotonic),
  ;; timeout 86400 s in ns, precision 0, flags 0 (relative)
  (data (i32.const 8) "\00")
  (data (i32.const 16) "\01\00\00\00")
  (data (i32.const 24) "\00\00\4f\91\94\4e\00\00")
  (func (export "_start")
    (call $exit (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))
