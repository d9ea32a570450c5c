"""The entry points: the `jaxdl` command (main: flags -> Config -> one mode of jaxdl.modes), its absl flags
(flags) and `jaxdl-sweep` (sweep). Nothing below imports this package."""
