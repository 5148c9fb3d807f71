;; Waits with `poll_oneoff` for an absolute time far in the future (realtime
;; clock, flag `subscription_clock_abstime`): the wait must end at the run's
;; deadline like any other.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  ;; subscription: userdata 0, tag 0 (clock), clock id 0 (realtime),
  ;; timeout 2^62 ns (year 2116), precision 0, flags 1 (absolute)
  (data (i32.const 8) "\00")
  (data (i32.const 16) "\00\00\00\00")
  (data (i32.const 24) "\00\00\00\00\00\00\00\40")
  (data (i32.const 40) "\01\00")
  (func (export "_start")
    (call $exit (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))
