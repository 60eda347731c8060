{
  "targets": [
    {
      "target_name": "search_kernels",
      "sources": ["electron/engine/search/native/search_kernels.c"],
      "cflags": ["-O3", "-std=gnu11", "-pthread", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags!": ["-O2", "-O0"],
      "ldflags": ["-pthread"],
      "xcode_settings": {"OTHER_CFLAGS": ["-O3", "-std=gnu11"]}
    }
  ]
}
