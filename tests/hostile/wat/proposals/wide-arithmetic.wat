;; 128-bit addition (the `wide-arithmetic` proposal).
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (i64.add128 (i64.const 1) (i64.const 0) (i64.const 2) (i64.const 0))
    (drop)
    (drop)))
