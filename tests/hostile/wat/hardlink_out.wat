;; Tries to create a hard link inside the first preopen to a file outside it;
;; exits with the errno it got.
(module
  (import "wasi_snapshot_preview1" "path_link"
    (func $path_link (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "../../../../../../etc/passwd")
  (data (i32.const 64) "pw")
  (func (export "_start")
    (call $exit
      (call $path_link (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 28)
        (i32.const 3) (i32.const 64) (i32.const 2)))))
