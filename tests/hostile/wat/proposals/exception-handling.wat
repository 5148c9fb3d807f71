;; A tag and `throw` caught by `try_table` (the `exception-handling` proposal).
(module
  (tag $e)
  (memory (export "memory") 1)
  (func (export "_start")
    (block $caught
      (try_table (catch_all $caught) (throw $e)))))
