;; Writes 4 KiB to stdout in a loop, forever.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\10\00\00\00\00\10\00\00")  ;; iovec {buf = 16, len = 4096}
  (func (export "_start")
    (memory.fill (i32.const 16) (i32.const 65) (i32.const 4096))
    (loop $l
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br $l))))
