;; Route 2 out of a lexical symlink check: make `s` -> `.`, then make
;; `s/s/evil` -> `../../x`: two levels deep by its text, but `s/s` is the
;; granted directory (fd 3) itself, so the link points two levels above it.
;; Exits with the errno of the second `path_symlink` (0: made), 121 if the two
;; got different errnos.
(module
  (import "wasi_snapshot_preview1" "path_symlink"
    (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) ".")           ;; 1 byte
  (data (i32.const 16) "s")          ;; 1
  (data (i32.const 32) "../../x")    ;; 7
  (data (i32.const 48) "s/s/evil")   ;; 8
  (func (export "_start")
    (local $dot i32)
    (local $evil i32)
    (local.set $dot
      (call $symlink (i32.const 0) (i32.const 1) (i32.const 3) (i32.const 16) (i32.const 1)))
    (local.set $evil
      (call $symlink (i32.const 32) (i32.const 7) (i32.const 3) (i32.const 48) (i32.const 8)))
    (if (i32.ne (local.get $dot) (local.get $evil)) (then (call $exit (i32.const 121))))
    (call $exit (local.get $evil))))
