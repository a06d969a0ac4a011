/* hello-c has no public headers. */
