// Gzip decompression speed on one file: zlib and ISA-L igzip streaming (1 MiB buffers, as
// layer application reads), libdeflate whole-buffer (its only mode). Prints MB/s of output.
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

static double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: gzip_bench FILE.gz UNCOMPRESSED_SIZE\n");
        return 2;
    }
    std::ifstream f(argv[1], std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string in = ss.str();
    size_t out_size = std::stoull(argv[2]);
    std::vector<unsigned char> out(1u << 20);
    int reps = 3;

    double best = 1e9;
    for (int r = 0; r < reps; ++r) {
        double t = now();
        z_stream z{};
        inflateInit2(&z, 16 + MAX_WBITS);
        size_t pos = 0, total = 0;
        int rc = Z_OK;
        while (rc != Z_STREAM_END) {
            if (z.avail_in == 0) {
                size_t n = std::min<size_t>(1u << 20, in.size() - pos);
                z.next_in = (Bytef*)in.data() + pos;
                z.avail_in = uInt(n);
                pos += n;
            }
            z.next_out = out.data();
            z.avail_out = uInt(out.size());
            rc = inflate(&z, Z_NO_FLUSH);
            if (rc < 0 && rc != Z_BUF_ERROR) return 1;
            total += out.size() - z.avail_out;
        }
        inflateEnd(&z);
        best = std::min(best, now() - t);
        if (total != out_size) std::fprintf(stderr, "zlib size %zu\n", total);
    }
    std::printf("zlib        %7.0f MB/s\n", out_size / best / 1e6);

    best = 1e9;
    for (int r = 0; r < reps; ++r) {
        double t = now();
        inflate_state s;
        isal_inflate_init(&s);
        s.crc_flag = ISAL_GZIP;
        size_t pos = 0, total = 0;
        while (s.block_state != ISAL_BLOCK_FINISH) {
            if (s.avail_in == 0) {
                size_t n = std::min<size_t>(1u << 20, in.size() - pos);
                s.next_in = (uint8_t*)in.data() + pos;
                s.avail_in = uint32_t(n);
                pos += n;
            }
            s.next_out = out.data();
            s.avail_out = uint32_t(out.size());
            if (isal_inflate(&s) < 0) return 1;
            total += out.size() - s.avail_out;
        }
        best = std::min(best, now() - t);
        if (total != out_size) std::fprintf(stderr, "isal size %zu\n", total);
    }
    std::printf("isa-l igzip %7.0f MB/s\n", out_size / best / 1e6);

    best = 1e9;
    std::vector<unsigned char> whole(out_size);
    for (int r = 0; r < reps; ++r) {
        double t = now();
        auto* d = libdeflate_alloc_decompressor();
        size_t got = 0;
        if (libdeflate_gzip_decompress(d, in.data(), in.size(), whole.data(), whole.size(), &got) !=
            LIBDEFLATE_SUCCESS)
            return 1;
        libdeflate_free_decompressor(d);
        best = std::min(best, now() - t);
    }
    std::printf("libdeflate  %7.0f MB/s (whole buffer: %zu MB in memory)\n", out_size / best / 1e6,
                (in.size() + out_size) >> 20);
    return 0;
}
