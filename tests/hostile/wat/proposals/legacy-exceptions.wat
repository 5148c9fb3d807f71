;; `try` / `catch_all` (the legacy exception-handling proposal).
(module
  (memory (export "memory") 1)
  (func (export "_start")
    try
      nop
    catch_all
    end))
