;; Every proposal the runtime enables, each used once; exits with 42 when
;; every result is as expected, 1 otherwise.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (table $t 2 funcref)
  ;; extended constant expressions, mutable globals
  (global $base i32 (i32.add (i32.const 40) (i32.const 1)))
  (global $count (mut i32) (i32.const 0))
  ;; multi-value
  (func $pair (result i32 i32) (i32.const 1) (i32.const 0))
  ;; tail calls
  (func $tail (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (return_call $tail (i32.sub (local.get 0) (i32.const 1))))))
  (func (export "_start")
    (local $ok i32)
    ;; bulk memory
    (memory.fill (i32.const 0) (i32.const 7) (i32.const 16))
    ;; 128-bit SIMD
    (local.set $ok
      (i32.eq (i8x16.extract_lane_u 15 (v128.load (i32.const 0))) (i32.const 7)))
    ;; reference types
    (local.set $ok
      (i32.and (local.get $ok) (ref.is_null (table.get $t (i32.const 0)))))
    ;; sign extension, non-trapping float-to-int
    (local.set $ok
      (i32.and (local.get $ok) (i32.eq (i32.extend8_s (i32.const 255)) (i32.const -1))))
    (local.set $ok
      (i32.and (local.get $ok)
        (i32.eq (i32.trunc_sat_f32_s (f32.const 1e30)) (i32.const 2147483647))))
    (local.set $ok (i32.and (local.get $ok) (i32.eqz (call $tail (i32.const 100000)))))
    (global.set $count (i32.add (call $pair)))
    (local.set $ok (i32.and (local.get $ok) (i32.eq (global.get $count) (i32.const 1))))
    (call $exit
      (select (i32.add (global.get $base) (i32.const 1)) (i32.const 1) (local.get $ok)))))
