;; A continuation type and `cont.new` (the `stack-switching` proposal).
(module
  (type $f (func))
  (type $c (cont $f))
  (memory (export "memory") 1)
  (func $body)
  (elem declare func $body)
  (func (export "_start") (drop (cont.new $c (ref.func $body)))))
