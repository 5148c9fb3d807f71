;; Route 3 out of a lexical symlink check: a target longer than the 256 bytes
;; a check might read: 656 bytes, 128 levels down (`x/` ...), then 130 up
;; (`../` ...) and `etc/passwd`, two levels above the granted directory (fd 3).
;; Exits with the errno of `path_symlink` (0: made).
(module
  (import "wasi_snapshot_preview1" "path_symlink"
    (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "long")                 ;; 4 bytes
  (data (i32.const 16) "x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../etc/passwd") ;; 656
  (func (export "_start")
    (call $exit
      (call $symlink (i32.const 16) (i32.const 656) (i32.const 3) (i32.const 0) (i32.const 4)))))
