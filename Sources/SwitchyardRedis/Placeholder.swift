public enum SwitchyardRedisPlaceholder {}
