;; A 64-bit memory (the `memory64` proposal).
(module
  (memory (export "memory") i64 1)
  (func (export "_start") (drop (i32.load (i64.const 0)))))
