// What one durable write costs on this disk, the floor under every standalone group commit:
// a write plus fdatasync that extends a file (a growing log), one that overwrites space the file
// already has (SQLite reuses its WAL after a checkpoint), and O_DSYNC / O_DIRECT|O_DSYNC writes
// into preallocated space. Also SQLite's way of writing WAL frames (24-byte header and page as
// two pwrite calls each) against one pwrite per commit.
//   build/bench/fsync_cost [FOLDER]   (default: the current folder; the file is removed after)
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr int kRounds = 1000;
constexpr size_t kFileBytes = 8 << 20;
constexpr size_t kFrame = 24 + 4096;
alignas(4096) char buffer[1 << 20];

double microsecondsPer(int rounds, std::chrono::steady_clock::time_point start) {
    const auto elapsed = std::chrono::steady_clock::now() - start;
    return std::chrono::duration<double, std::micro>(elapsed).count() / rounds;
}

int openFresh(const std::string& path, bool preallocate) {
    const int fd = open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0) {
        std::perror(path.c_str());
        std::exit(1);
    }
    if (preallocate) {
        for (size_t done = 0; done < kFileBytes; done += sizeof buffer)
            if (write(fd, buffer, sizeof buffer) != static_cast<ssize_t>(sizeof buffer)) std::exit(1);
        fsync(fd);
    }
    return fd;
}

void writeOrDie(int fd, const char* data, size_t size, off_t offset) {
    if (pwrite(fd, data, size, offset) != static_cast<ssize_t>(size)) {
        std::perror("pwrite");
        std::exit(1);
    }
}

/// Sequential writes of `size` bytes, each made durable: by fdatasync, or by the open flags.
double sequential(const std::string& path, size_t size, bool preallocate, int reopenFlags) {
    int fd = openFresh(path, preallocate);
    if (reopenFlags != 0) {
        close(fd);
        fd = open(path.c_str(), O_RDWR | reopenFlags);
        if (fd < 0) return -1;  // e.g. O_DIRECT unsupported here
    }
    off_t offset = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kRounds; ++i) {
        if (offset + static_cast<off_t>(size) > static_cast<off_t>(kFileBytes)) offset = 0;
        writeOrDie(fd, buffer, size, offset);
        offset += static_cast<off_t>(size);
        if (reopenFlags == 0) fdatasync(fd);
    }
    const double us = microsecondsPer(kRounds, start);
    close(fd);
    return us;
}

/// `frames` WAL frames per commit into a preallocated file, then fdatasync.
double walCommit(const std::string& path, int frames, bool oneWrite) {
    const int fd = openFresh(path, true);
    off_t offset = 32;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kRounds; ++i) {
        if (offset + static_cast<off_t>(frames * kFrame) > static_cast<off_t>(kFileBytes)) offset = 32;
        if (oneWrite) {
            writeOrDie(fd, buffer, frames * kFrame, offset);
            offset += static_cast<off_t>(frames * kFrame);
        } else {
            for (int f = 0; f < frames; ++f) {
                writeOrDie(fd, buffer, 24, offset);
                writeOrDie(fd, buffer, 4096, offset + 24);
                offset += static_cast<off_t>(kFrame);
            }
        }
        fdatasync(fd);
    }
    const double us = microsecondsPer(kRounds, start);
    close(fd);
    return us;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string path = std::string(argc > 1 ? argv[1] : ".") + "/fsync_cost.tmp";
    std::memset(buffer, 'x', sizeof buffer);
    std::printf("%-44s %10s\n", "durable write (1000 rounds each)", "us/write");
    for (size_t size : {size_t{4096}, size_t{32768}}) {
        std::printf("%-44s %10.1f\n", ("extend file + fdatasync, " + std::to_string(size) + " B").c_str(),
                    sequential(path, size, false, 0));
        std::printf("%-44s %10.1f\n", ("overwrite + fdatasync, " + std::to_string(size) + " B").c_str(),
                    sequential(path, size, true, 0));
        std::printf("%-44s %10.1f\n", ("O_DSYNC overwrite, " + std::to_string(size) + " B").c_str(),
                    sequential(path, size, true, O_DSYNC));
        std::printf("%-44s %10.1f\n", ("O_DIRECT|O_DSYNC overwrite, " + std::to_string(size) + " B").c_str(),
                    sequential(path, size, true, O_DSYNC | O_DIRECT));
    }
    for (int frames : {8, 16, 32}) {
        std::printf("%-44s %10.1f\n", ("WAL commit, " + std::to_string(frames) + " frames as SQLite writes").c_str(),
                    walCommit(path, frames, false));
        std::printf("%-44s %10.1f\n", ("WAL commit, " + std::to_string(frames) + " frames in one write").c_str(),
                    walCommit(path, frames, true));
    }
    unlink(path.c_str());
    return 0;
}
