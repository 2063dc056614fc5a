{
  # quiver_native: the optional Linux addon of @quiver/native.
  # node-addon-api without C++ exceptions (every N-API status is checked by hand), C++17, -O2,
  # hidden symbol visibility (only the module registration symbol is exported).
  "targets": [
    {
      "target_name": "quiver_native",
      "sources": ["src/addon.cc", "src/mmap.cc", "src/shm.cc", "src/futex.cc"],
      # The `node_addon_api` target is the no-exceptions flavour: it defines
      # NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS, which napi.h aliases to NAPI_DISABLE_CPP_EXCEPTIONS
      # (defining both here would only redefine the macro).
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fexceptions", "-O3"],
      "cflags_cc!": ["-fexceptions", "-std=gnu++14", "-std=gnu++17", "-std=c++20", "-O3"],
      "cflags": ["-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-std=c++17", "-fvisibility=hidden", "-fvisibility-inlines-hidden", "-fno-exceptions"],
      "configurations": {
        "Release": {
          "cflags!": ["-O3"],
          "cflags_cc!": ["-O3"],
          "cflags": ["-O2"],
          "cflags_cc": ["-O2"]
        }
      },
      "conditions": [
        ["OS=='linux'", {
          "libraries": ["-lrt", "-lpthread"],
          # Hidden visibility does not cover libstdc++ template instantiations: a version script
          # keeps the exported dynamic symbols to the two Node-API entry points.
          # -z nodelete: a worker thread's exit closes the addons it loaded before its isolate
          # releases what they made (finalizers, wait threads); the code they run must stay.
          "ldflags": ["-Wl,--as-needed", "-Wl,--version-script=<(module_root_dir)/src/exports.map", "-Wl,-z,nodelete"]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "GCC_ENABLE_CPP_EXCEPTIONS": "NO"
          }
        }]
      ]
    },
    {
      # quiver_map: mappings as SharedArrayBuffers, through V8's API (see src/shared_map.cc).
      "target_name": "quiver_map",
      "sources": ["src/shared_map.cc"],
      "cflags": ["-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "cflags_cc": ["-std=c++17", "-fvisibility=hidden", "-fvisibility-inlines-hidden", "-fno-exceptions"],
      "conditions": [
        ["OS=='linux'", {
          # A worker thread's exit closes (dlclose) the addons it loaded, and only then tears down
          # its isolate, which releases the SharedArrayBuffers this module made by calling their
          # deleter (Unmap, in this module). -z nodelete keeps the module mapped for that call:
          # without it the worker's exit was a SIGSEGV whenever a mapping was still alive.
          "ldflags": ["-Wl,-z,nodelete"]
        }]
      ]
    }
  ]
}
