;; Two linear memories (the `multi-memory` proposal).
(module
  (memory (export "memory") 1)
  (memory $second 1)
  (func (export "_start") (drop (i32.load $second (i32.const 0)))))
