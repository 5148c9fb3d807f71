;; An infinite loop in the module's start function: it runs during
;; instantiation, before `_start`, and must be stopped all the same.
(module
  (memory (export "memory") 1)
  (func $spin (loop $l (br $l)))
  (start $spin)
  (func (export "_start")))
