;; Loads far past the end of its one page of memory.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (i64.load (i32.const 0x7ffffff0)))))
