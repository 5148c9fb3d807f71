;; An infinite loop in `_start`: stopped by fuel (fuel metering) or by the
;; wall-clock timeout (epoch metering).
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $l (br $l))))
