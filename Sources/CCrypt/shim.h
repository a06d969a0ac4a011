// libxcrypt (Debian's libcrypt1, libcrypt-dev for the header): crypt_r with bcrypt
// ("$2a$", "$2b$", "$2y$"), used to check the Admin UI password against its hash.
#include <crypt.h>
