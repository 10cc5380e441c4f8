// Import: the tar stream is hashed uncompressed (the DiffID) and gzip-compressed into a blob
// writer that hashes the compressed bytes (the layer digest) in the same pass.
#include "imagetool/bundle/import.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <ctime>
#include <vector>

#include "imagetool/layer/create.hpp"
#include "imagetool/layer/decompress.hpp"
#include "imagetool/layer/sha256.hpp"

namespace berth::image::bundle {
namespace {

class GzipLayerWriter {
  public:
    explicit GzipLayerWriter(BlobWriter w) : w_(std::move(w)), out_(1u << 20) {
        deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    }
    ~GzipLayerWriter() { deflateEnd(&z_); }
    Status write(const void* data, size_t len) {
        diff_.update(data, len);
        z_.next_in = static_cast<Bytef*>(const_cast<void*>(data));
        z_.avail_in = uInt(len);
        return pump(Z_NO_FLUSH);
    }
    Result<spec::Descriptor> finish(std::string& diff_id) {
        z_.next_in = nullptr;
        z_.avail_in = 0;
        TRY(pump(Z_FINISH));
        diff_id = diff_.digest();
        return w_.commit(spec::kMediaTypeOciLayerGzip);
    }

  private:
    Status pump(int flush) {
        for (;;) {
            z_.next_out = out_.data();
            z_.avail_out = uInt(out_.size());
            int rc = deflate(&z_, flush);
            if (rc == Z_STREAM_ERROR) return error("gzip: deflate failed");
            size_t n = out_.size() - z_.avail_out;
            if (n) TRY(w_.write(out_.data(), n));
            if (flush == Z_FINISH ? rc == Z_STREAM_END : z_.avail_in == 0) return ok();
        }
    }
    BlobWriter w_;
    z_stream z_{};
    std::vector<Bytef> out_;
    layer::Sha256 diff_;
};

}  // namespace

Result<spec::Descriptor> import_image(Store& store, const std::string& src, const std::string& name,
                                      const ImportOptions& opts) {
    struct stat st;
    if (stat(src.c_str(), &st) < 0) return sys_error("import '" + src + "'");
    auto lock = TRY(store.shared());
    GzipLayerWriter out(TRY(store.create_blob()));
    if (S_ISDIR(st.st_mode)) {
        // A normal user's files are root's in the image (their user namespace maps them so),
        // and a rootless unpack's recorded owners go back into the layer.
        layer::TreeOwners owners{geteuid() != 0, geteuid(), getegid()};
        TRY(layer::write_tree_tar(
            src, [&](const void* d, size_t n) { return out.write(d, n); }, owners));
    } else if (S_ISREG(st.st_mode)) {
        UniqueFd fd(open(src.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return sys_error("open '" + src + "'");
        // The bytes say whether the tar is compressed; the layer is stored gzip-compressed.
        auto in = TRY(layer::open_layer_stream(fd.get(), "", 0));
        std::vector<char> buf(1u << 20);
        for (;;) {
            size_t n = TRY_CTX(in->read(buf.data(), buf.size()), "read '" + src + "'");
            if (n == 0) break;
            TRY(out.write(buf.data(), n));
        }
    } else {
        return error("import '" + src + "': not a directory or a tar file");
    }
    std::string diff_id;
    spec::Descriptor layer = TRY(out.finish(diff_id));

    spec::ImageConfig cfg;
    spec::Platform host = spec::host_platform();
    cfg.architecture = host.architecture;
    cfg.os = host.os;
    cfg.variant = host.variant;
    cfg.created = spec::created_now();
    spec::ContainerConfig cc;
    if (!opts.cmd.empty()) cc.cmd = opts.cmd;
    cc.env = opts.env;
    if (cc.env.empty())
        cc.env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    cc.user = opts.user;
    cc.working_dir = opts.workdir;
    cc.labels = opts.labels;
    cfg.config = cc;
    cfg.rootfs.diff_ids.push_back(TRY(spec::Digest::parse(diff_id)));
    spec::History h;
    h.created = cfg.created;
    h.created_by = "berth-image import " + src;
    cfg.history.push_back(h);
    return store.put_image(name, cfg, {layer});
}

}  // namespace berth::image::bundle
