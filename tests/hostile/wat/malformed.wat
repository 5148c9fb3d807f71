;; Not even valid WebAssembly text.
(module
  (func (export "_start")
    (i32.add (i32.const 1))
