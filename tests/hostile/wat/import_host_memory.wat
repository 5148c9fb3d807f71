;; Asks the host for a memory instead of declaring its own.
(module
  (import "env" "memory" (memory 1))
  (func (export "_start")))
