;; A typed function reference (the `function-references` proposal).
(module
  (type $t (func))
  (memory (export "memory") 1)
  (func $f)
  (elem declare func $f)
  (func (export "_start") (call_ref $t (ref.func $f))))
