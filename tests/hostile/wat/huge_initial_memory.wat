;; Declares 2 GiB of initial linear memory: refused at instantiation.
(module
  (memory (export "memory") 32768)
  (func (export "_start")))
