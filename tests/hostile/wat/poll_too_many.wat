;; `poll_oneoff` with 4097 subscriptions: 4096 reads of stdin (always ready),
;; then a clock wait past the first 4096, where a guard that examines only the
;; first 4096 would not see it. Exits with the errno it got (0: the call passed).
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  ;; subscriptions at 0 (4097 * 48 = 196656 bytes), events at 262144
  ;; (4097 * 32 bytes), the count of events at 393216.
  (memory (export "memory") 7)
  (func (export "_start")
    (local $i i32)
    (local $at i32)
    (loop $fill
      (local.set $at (i32.mul (local.get $i) (i32.const 48)))
      ;; userdata = i; tag 1 (fd_read); fd 0 (stdin)
      (i64.store (local.get $at) (i64.extend_i32_u (local.get $i)))
      (i32.store8 (i32.add (local.get $at) (i32.const 8)) (i32.const 1))
      (i32.store (i32.add (local.get $at) (i32.const 16)) (i32.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 4096))))
    ;; subscription 4096: tag 0 (clock), monotonic, 1 ns, relative
    (local.set $at (i32.mul (i32.const 4096) (i32.const 48)))
    (i32.store8 (i32.add (local.get $at) (i32.const 8)) (i32.const 0))
    (i32.store (i32.add (local.get $at) (i32.const 16)) (i32.const 1))
    (i64.store (i32.add (local.get $at) (i32.const 24)) (i64.const 1))
    (call $exit
      (call $poll (i32.const 0) (i32.const 262144) (i32.const 4097) (i32.const 393216)))))
