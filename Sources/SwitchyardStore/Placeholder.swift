public enum SwitchyardStorePlaceholder {}
