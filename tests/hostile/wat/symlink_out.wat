;; Tries to plant symlinks in the first granted directory (fd 3): `evil2` ->
;; `../outside/secret.txt` and `evil3` -> `/etc/passwd` point out of it, a trap
;; for host tools that follow them later; `fine` -> `hello.txt` stays inside
;; for now, but a guest could move it later, so it is refused too.
;; Exits with the errno the three got (0: made), 121 if they got different ones.
(module
  (import "wasi_snapshot_preview1" "path_symlink"
    (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "../outside/secret.txt")   ;; 21 bytes
  (data (i32.const 32) "evil2")                  ;; 5
  (data (i32.const 48) "/etc/passwd")            ;; 11
  (data (i32.const 64) "evil3")                  ;; 5
  (data (i32.const 80) "hello.txt")              ;; 9
  (data (i32.const 96) "fine")                   ;; 4
  (func (export "_start")
    (local $evil2 i32)
    (local $evil3 i32)
    (local $fine i32)
    (local.set $evil2
      (call $symlink (i32.const 0) (i32.const 21) (i32.const 3) (i32.const 32) (i32.const 5)))
    (local.set $evil3
      (call $symlink (i32.const 48) (i32.const 11) (i32.const 3) (i32.const 64) (i32.const 5)))
    (local.set $fine
      (call $symlink (i32.const 80) (i32.const 9) (i32.const 3) (i32.const 96) (i32.const 4)))
    (if (i32.ne (local.get $evil2) (local.get $evil3)) (then (call $exit (i32.const 121))))
    (if (i32.ne (local.get $evil2) (local.get $fine)) (then (call $exit (i32.const 121))))
    (call $exit (local.get $evil2))))
