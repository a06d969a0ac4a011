/* Test fixture: a library without the entry symbol. */
int switchyard_plugin_entry_misspelled(void) { return 0; }
