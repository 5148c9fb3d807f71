;; Probes descriptors 3..64 for preopens, as a scanner would; exits with the
;; number it found.
(module
  (import "wasi_snapshot_preview1" "fd_prestat_get"
    (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (local $fd i32) (local $found i32)
    (local.set $fd (i32.const 3))
    (loop $l
      (if (i32.eqz (call $prestat (local.get $fd) (i32.const 0)))
        (then (local.set $found (i32.add (local.get $found) (i32.const 1)))))
      (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $fd) (i32.const 64))))
    (call $exit (local.get $found))))
