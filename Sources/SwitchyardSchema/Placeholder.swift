public enum SwitchyardSchemaPlaceholder {}
