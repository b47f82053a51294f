"""python -m sockrt: the library's version and the file it was loaded from."""

import sockrt

print(f"sockrt {sockrt.__version__}")
print(f"library: {sockrt.library_path}")
