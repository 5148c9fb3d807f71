;; Tries to accept a connection on descriptor 3 and to send on descriptor 4;
;; exits with how many of the two were refused with `NOTCAPABLE` (76).
(module
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_send"
    (func $send (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (call $exit
      (i32.add
        (i32.eq (i32.const 76) (call $accept (i32.const 3) (i32.const 0) (i32.const 0)))
        (i32.eq (i32.const 76)
          (call $send (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 8)))))))
