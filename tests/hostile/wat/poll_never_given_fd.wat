;; `poll_oneoff` on descriptor 9, which the guest was never given: the call
;; fails with `BADF` (8) and the sandbox reports the attempt. Exits with
;; 100 + the call's errno, or with the event's error if the call succeeded.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  ;; subscription 0: userdata 5, tag 1 (fd_read), fd 9
  (data (i32.const 0) "\05")
  (data (i32.const 8) "\01")
  (data (i32.const 16) "\09")
  (func (export "_start")
    (local $errno i32)
    (local.set $errno
      (call $poll (i32.const 0) (i32.const 256) (i32.const 1) (i32.const 512)))
    (if (local.get $errno)
      (then (call $exit (i32.add (i32.const 100) (local.get $errno)))))
    ;; the event's error, a u16 at offset 8
    (call $exit (i32.load16_u (i32.const 264)))))
