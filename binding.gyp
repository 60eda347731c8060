{
  "targets": [
    {
      "target_name": "search_kernels",
      "sources": [
        "electron/engine/search/native/search_kernels.c",
        "electron/engine/search/native/thread_pool.c",
        "electron/engine/search/native/distances.c",
        "electron/engine/search/native/topk.c",
        "electron/engine/search/native/lowrank_rerank.c",
        "electron/engine/search/native/convert.c",
        "electron/engine/search/native/assign.c",
        "electron/engine/search/native/hamming.c"
      ],
      "cflags": ["-O3", "-std=gnu11", "-pthread", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags!": ["-O2", "-O0"],
      "ldflags": ["-pthread"],
      "xcode_settings": {"OTHER_CFLAGS": ["-O3", "-std=gnu11"]}
    }
  ]
}
