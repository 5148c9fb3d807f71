;; Route 1 out of a lexical symlink check: make `a/l` -> `../x` (inside, seen
;; from `a`), then rename it up to `l`, where the same text points out of the
;; granted directory (fd 3). Exits with the errno of `path_symlink` (0: made),
;; or 122 if the link was made but the rename failed.
(module
  (import "wasi_snapshot_preview1" "path_create_directory"
    (func $mkdir (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink"
    (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_rename"
    (func $rename (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "a")       ;; 1 byte
  (data (i32.const 16) "../x")   ;; 4
  (data (i32.const 32) "a/l")    ;; 3
  (data (i32.const 48) "l")      ;; 1
  (func (export "_start")
    (local $made i32)
    (drop (call $mkdir (i32.const 3) (i32.const 0) (i32.const 1)))
    (local.set $made
      (call $symlink (i32.const 16) (i32.const 4) (i32.const 3) (i32.const 32) (i32.const 3)))
    (if (local.get $made) (then (call $exit (local.get $made))))
    (if (call $rename (i32.const 3) (i32.const 32) (i32.const 3) (i32.const 3) (i32.const 48) (i32.const 1))
      (then (call $exit (i32.const 122))))
    (call $exit (i32.const 0))))
