;; A garbage-collected struct (the `gc` proposal).
(module
  (type $point (struct (field i32) (field i32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (struct.new_default $point))))
