;; A memory of 1-byte pages (the `custom-page-sizes` proposal).
(module
  (memory (export "memory") 1 (pagesize 1))
  (func (export "_start")))
