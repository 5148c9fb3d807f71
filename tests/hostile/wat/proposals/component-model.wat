;; A component, not a core module (the `component-model` proposal).
(component)
