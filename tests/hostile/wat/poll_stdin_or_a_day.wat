;; `poll_oneoff` on {stdin readable, a one-day clock}: stdin is always ready,
;; so the call must return at once with stdin's event. Exits with the first
;; event's userdata (7: stdin, 9: the clock), or 100 + the errno.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  ;; subscription 0: userdata 7, tag 1 (fd_read), fd 0
  (data (i32.const 0) "\07")
  (data (i32.const 8) "\01")
  ;; subscription 1 (at 48): userdata 9, tag 0 (clock), clock id 1 (monotonic),
  ;; timeout 86400 s in ns, relative
  (data (i32.const 48) "\09")
  (data (i32.const 64) "\01\00\00\00")
  (data (i32.const 72) "\00\00\4f\91\94\4e\00\00")
  (func (export "_start")
    (local $errno i32)
    (local.set $errno
      (call $poll (i32.const 0) (i32.const 256) (i32.const 2) (i32.const 512)))
    (if (local.get $errno)
      (then (call $exit (i32.add (i32.const 100) (local.get $errno)))))
    (call $exit (i32.load (i32.const 256)))))
