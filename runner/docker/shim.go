package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/benchrig/benchrig/runner"
)

// shimDir is where the shim lives in a container; shimPath is the entrypoint.
const (
	shimDir  = "/.benchrig"
	shimPath = shimDir + "/shim"
	// labelShim marks shim volumes and their helper containers with the
	// shim's sha256.
	labelShim = "benchrig.shim"
	// labelShimFiller names the executor that created a shim volume, so
	// that of several creating it at once only one fills it.
	labelShimFiller = "benchrig.shim.filler"
)

// ShimName is the shim binary's file name for an architecture (GOARCH
// name): benchrig-shim-linux-<arch>.
func ShimName(arch string) string { return "benchrig-shim-linux-" + arch }

// shimFile is one architecture's shim, read once.
type shimFile struct {
	arch string
	sha  string // hex sha256
	data []byte
	tar  []byte // .benchrig/shim, for CopyToContainer at "/"
}

func (e *Executor) shim(arch string) (*shimFile, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.shims[arch]; s != nil {
		return s, nil
	}
	if e.cfg.ShimDir == "" {
		return nil, e.invalid("no shim directory configured: the docker executor needs %s (build it with `make build`, or: CGO_ENABLED=0 GOOS=linux GOARCH=%s go build -trimpath -ldflags='-s -w' -o bin/%s ./runner/docker/shim)", ShimName(arch), arch, ShimName(arch))
	}
	path := filepath.Join(e.cfg.ShimDir, ShimName(arch))
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, e.invalid("timing shim %s is missing (build it with `make build`, or: CGO_ENABLED=0 GOOS=linux GOARCH=%s go build -trimpath -ldflags='-s -w' -o %s ./runner/docker/shim)", path, arch, path)
		}
		return nil, e.invalid("timing shim: %v", err)
	}
	sum := sha256.Sum256(data)
	s := &shimFile{arch: arch, sha: hex.EncodeToString(sum[:]), data: data}
	if s.tar, err = shimTar(data, ".benchrig/", "shim", ""); err != nil {
		return nil, err
	}
	e.shims[arch] = s
	return s, nil
}

// shimTar builds a tar of the shim at dir+name. With link set, the file is
// written as dir+link and then hard-linked as dir+name, so that name
// appears only once the file is complete.
func shimTar(data []byte, dir, name, link string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	if dir != "" {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: now}); err != nil {
			return nil, err
		}
	}
	file := name
	if link != "" {
		file = link
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dir + file, Mode: 0o755, Size: int64(len(data)), ModTime: now}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if link != "" {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeLink, Name: dir + name, Linkname: dir + link, ModTime: now}); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// shimVolumeName is the node's volume holding one build of the shim.
func shimVolumeName(s *shimFile) string { return "benchrig-shim-" + s.arch + "-" + s.sha[:12] }

// shimVolume returns the node's shim volume for s, creating and filling it
// on this executor's first use. It fills it through a created, never
// started helper container of the job's image (any image present will
// do, and that one is known to be there).
//
// The volume is shared by every executor and every benchrig process that
// uses the node with this build of the shim, and trials of theirs may be
// starting from it right now. Filling it replaces /.benchrig/shim (the
// engine removes the old name before it links the new file), so a trial
// starting in that instant fails with "no such file". So the volume is
// filled at most once: never when the shim is already there, and, when
// several executors create it at once, by the one whose filler label the
// engine kept (the first create); the others wait for its shim.
func (e *Executor) shimVolume(ctx context.Context, s *shimFile, image string, platform *ocispec.Platform) (string, error) {
	e.volMu.Lock()
	defer e.volMu.Unlock()
	e.mu.Lock()
	name := e.volumes[s.arch]
	e.mu.Unlock()
	if name != "" {
		return name, nil
	}
	name = shimVolumeName(s)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiTimeout+shimFillWait)
	defer cancel()
	vol, err := e.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Labels: map[string]string{labelShim: s.sha, labelShimFiller: e.filler}})
	if err != nil {
		return "", e.apiErr(ctx, "create shim volume "+name, err)
	}
	helper, err := e.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{
			Image:      image,
			Entrypoint: []string{shimPath},
			Labels:     map[string]string{runner.LabelOwner: e.owner, labelShim: s.sha},
		},
		HostConfig: &container.HostConfig{
			NetworkMode: "none",
			Mounts:      []mount.Mount{{Type: mount.TypeVolume, Source: name, Target: shimDir, VolumeOptions: &mount.VolumeOptions{NoCopy: true}}},
		},
		Platform: platform,
	})
	if err != nil {
		return "", e.apiErr(ctx, "create shim helper container", err)
	}
	err = e.fillVolume(ctx, helper.ID, name, s, vol.Volume.Labels[labelShimFiller])
	if _, rerr := e.cli.ContainerRemove(ctx, helper.ID, client.ContainerRemoveOptions{Force: true}); rerr != nil {
		e.mu.Lock()
		e.unremoved[helper.ID] = rerr
		e.mu.Unlock()
	}
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	e.volumes[s.arch] = name
	e.mu.Unlock()
	return name, nil
}

// shimFillWait bounds how long an executor waits for another one (maybe in
// another process) that created the shim volume to fill it: a 2 MB copy
// takes well under a second; past this, the filler is taken for dead and
// this executor fills the volume itself.
const shimFillWait = 20 * time.Second

// fillVolume copies the shim into volume name through the helper
// container, unless it is there already or filler, the executor that
// created the volume, is another one that puts it there within
// shimFillWait. A volume that a trial's mount recreated empty carries no
// filler label: it is filled at once.
func (e *Executor) fillVolume(ctx context.Context, helper, name string, s *shimFile, filler string) error {
	present := func() (bool, error) {
		_, err := e.cli.ContainerStatPath(ctx, helper, client.ContainerStatPathOptions{Path: shimPath})
		if err == nil || cerrdefsIsNotFound(err) {
			return err == nil, nil
		}
		return false, e.apiErr(ctx, "look for the shim in volume "+name, err)
	}
	ok, err := present()
	if err != nil || ok {
		return err
	}
	if filler != "" && filler != e.filler {
		// No event tells when another process's copy is done: poll the
		// one condition that matters, with a deadline.
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		deadline := time.NewTimer(shimFillWait)
		defer deadline.Stop()
	wait:
		for {
			select {
			case <-tick.C:
				if ok, err := present(); err != nil || ok {
					return err
				}
			case <-deadline.C:
				break wait
			}
		}
	}
	data, err := shimTar(s.data, "", "shim", "shim-"+s.sha[:12])
	if err != nil {
		return err
	}
	if _, err := e.cli.CopyToContainer(ctx, helper, client.CopyToContainerOptions{DestinationPath: shimDir, Content: bytes.NewReader(data)}); err != nil {
		return e.apiErr(ctx, "copy shim into volume "+name, err)
	}
	return nil
}

// shimMissing reports whether the created, not started, container id lacks
// the shim: its volume vanished and the mount made an empty one. Any
// other failed start is the container's own, and the volume stays.
func (e *Executor) shimMissing(id string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	_, err := e.cli.ContainerStatPath(ctx, id, client.ContainerStatPathOptions{Path: shimPath})
	return cerrdefsIsNotFound(err)
}

// forgetVolume makes the next trial fill the arch's shim volume again.
func (e *Executor) forgetVolume(arch string) {
	e.mu.Lock()
	delete(e.volumes, arch)
	e.mu.Unlock()
}

// copyShim puts the shim into a created container (shimCopy mode).
func (e *Executor) copyShim(ctx context.Context, id string, s *shimFile) error {
	_, err := e.cli.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: "/", Content: bytes.NewReader(s.tar)})
	if err != nil {
		return fmt.Errorf("copy shim: %w", err)
	}
	return nil
}
