;; Stores just past the end of its memory (and at the top of the address space).
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 65534) (i32.const -1))
    (i32.store (i32.const -4) (i32.const -1))))
