-- CreateEnum
CREATE TYPE "PluginInstall" AS ENUM ('installed', 'cached', 'image');

-- AlterTable
ALTER TABLE "deployments" ADD COLUMN     "plugin_image" TEXT;

-- AlterTable
ALTER TABLE "runs" ADD COLUMN     "install_finished_at" TIMESTAMPTZ(3),
ADD COLUMN     "install_started_at" TIMESTAMPTZ(3),
ADD COLUMN     "plugin_install" "PluginInstall";
